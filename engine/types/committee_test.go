package types

import (
	"math/rand/v2"
	"testing"
)

func committee(t *testing.T, powers ...int64) *Committee {
	t.Helper()
	vals := make([]Validator, len(powers))
	for i, p := range powers {
		vals[i] = Validator{PubKey: []byte{byte(i)}, Power: p}
	}
	c, err := NewCommittee(vals)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestQuorumEqualStakes(t *testing.T) {
	for n := 1; n <= 40; n++ {
		powers := make([]int64, n)
		for i := range powers {
			powers[i] = 1
		}
		c := committee(t, powers...)
		f := int64((n - 1) / 3)
		if n%3 == 1 && (c.QuorumThreshold() != 2*f+1 || c.ValidityThreshold() != f+1) {
			t.Errorf("n=%d: quorum %d validity %d, want %d and %d", n, c.QuorumThreshold(), c.ValidityThreshold(), 2*f+1, f+1)
		}
		// Two quorums always share more than a third of the stake (one honest validator).
		q := c.QuorumThreshold()
		if 2*q-c.TotalPower() < c.ValidityThreshold() {
			t.Errorf("n=%d: quorums of %d may intersect in less than validity %d", n, q, c.ValidityThreshold())
		}
	}
}

func TestQuorumUnequalStakesBoundaries(t *testing.T) {
	c := committee(t, 1, 1, 1, 97)
	// Total 100: quorum is the least stake above 200/3, validity the least above 100/3.
	if c.QuorumThreshold() != 67 || c.ValidityThreshold() != 34 {
		t.Fatalf("quorum %d validity %d, want 67 and 34", c.QuorumThreshold(), c.ValidityThreshold())
	}
	tally := c.NewTally()
	for _, a := range []int{0, 1, 2} {
		if tally.Add(a) {
			t.Fatalf("the three small validators (stake %d) must not be a quorum", tally.Stake())
		}
	}
	if !tally.Add(3) {
		t.Fatal("all stake must be a quorum")
	}
	alone := c.NewTally()
	if !alone.Add(3) || alone.Stake() != 97 {
		t.Fatal("97 of 100 is a quorum on its own")
	}
	if !c.IsQuorum(67) || c.IsQuorum(66) || !c.IsValidity(34) || c.IsValidity(33) {
		t.Fatal("boundaries at 66/67 and 33/34 are wrong")
	}
	dup := c.NewTally()
	dup.Add(0)
	dup.Add(0)
	if dup.Stake() != 1 {
		t.Fatal("an author counted twice")
	}
}

func TestQuorumRandomStakes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		powers := make([]int64, 10)
		var total int64
		for i := range powers {
			powers[i] = 1 + rng.Int64N(1_000_000)
			total += powers[i]
		}
		c := committee(t, powers...)
		q, v := c.QuorumThreshold(), c.ValidityThreshold()
		// q is the least integer with 3q > 2*total; v the least with 3v > total.
		if 3*q <= 2*total || 3*(q-1) > 2*total {
			t.Fatalf("total %d: quorum %d is not the least stake above two thirds", total, q)
		}
		if 3*v <= total || 3*(v-1) > total {
			t.Fatalf("total %d: validity %d is not the least stake above one third", total, v)
		}
		if c.IsQuorum(q-1) || !c.IsQuorum(q) {
			t.Fatalf("total %d: IsQuorum boundary wrong at %d", total, q)
		}
		if w := c.WithWeakQuorum(); w.QuorumThreshold() != q-1 || c.QuorumThreshold() != q {
			t.Fatal("weak quorum must be one less and leave the original alone")
		}
	}
}

func TestCommitteeRejectsBadPower(t *testing.T) {
	for _, powers := range [][]int64{{}, {0, 1}, {-1, 5}, {MaxTotalPower, 1}} {
		vals := make([]Validator, len(powers))
		for i, p := range powers {
			vals[i] = Validator{Power: p}
		}
		if _, err := NewCommittee(vals); err == nil {
			t.Errorf("powers %v accepted", powers)
		}
	}
	// The largest allowed total works and its thresholds do not overflow.
	c := committee(t, MaxTotalPower-1, 1)
	if c.QuorumThreshold() <= 0 || c.QuorumThreshold() > c.TotalPower() {
		t.Fatalf("quorum %d overflowed for total %d", c.QuorumThreshold(), c.TotalPower())
	}
}
