package types

import (
	"errors"
	"fmt"
)

// MaxValidators bounds committee size; it also bounds author indices accepted off the wire.
const MaxValidators = 1 << 10

// MaxTotalPower is CometBFT's cap on a validator set's total voting power (MaxInt64/8), so
// stake sums and the small multiples below never overflow int64.
const MaxTotalPower = int64(1<<63-1) / 8

// Validator is one committee member: its consensus public key and voting power.
type Validator struct {
	PubKey []byte
	Power  int64
}

// Committee is the fixed validator set of one epoch, indexed by author number.
type Committee struct {
	Validators []Validator
	total      int64
	quorum     int64
	validity   int64
	hash       []byte // CometBFT validator-set hash, computed on first use
}

// NewCommittee checks the validators and precomputes the stake thresholds.
func NewCommittee(vals []Validator) (*Committee, error) {
	if len(vals) == 0 {
		return nil, errors.New("committee is empty")
	}
	if len(vals) > MaxValidators {
		return nil, fmt.Errorf("committee has %d validators, max %d", len(vals), MaxValidators)
	}
	var total int64
	for i, v := range vals {
		if v.Power <= 0 {
			return nil, fmt.Errorf("validator %d has power %d, want > 0", i, v.Power)
		}
		if v.Power > MaxTotalPower-total {
			return nil, fmt.Errorf("total power exceeds %d", MaxTotalPower)
		}
		total += v.Power
	}
	c := &Committee{Validators: vals, total: total}
	// Quorum is the least stake strictly above 2/3 of the total, validity the least stake
	// strictly above 1/3: with total = 3f+1 these are 2f+1 and f+1. Integer arithmetic
	// only; total*2 cannot overflow under MaxTotalPower.
	c.quorum = total*2/3 + 1
	c.validity = total/3 + 1
	return c, nil
}

// Size is the number of validators.
func (c *Committee) Size() int { return len(c.Validators) }

// Power returns one validator's stake.
func (c *Committee) Power(author int) int64 { return c.Validators[author].Power }

// TotalPower is the sum of all stake.
func (c *Committee) TotalPower() int64 { return c.total }

// QuorumThreshold is the least stake that is a quorum (2f+1).
func (c *Committee) QuorumThreshold() int64 { return c.quorum }

// ValidityThreshold is the least stake that surely holds an honest validator (f+1).
func (c *Committee) ValidityThreshold() int64 { return c.validity }

// IsQuorum reports whether stake reaches the quorum threshold.
func (c *Committee) IsQuorum(stake int64) bool { return stake >= c.quorum }

// IsValidity reports whether stake reaches the validity threshold.
func (c *Committee) IsValidity(stake int64) bool { return stake >= c.validity }

// WithWeakQuorum returns a copy whose quorum is one unit of stake short (2f instead of
// 2f+1 when all powers are 1). It exists only so the simulator can plant that bug and check
// that its checkers catch it; never use it in production.
func (c *Committee) WithWeakQuorum() *Committee {
	cp := *c
	if cp.quorum > 1 {
		cp.quorum--
	}
	return &cp
}

// Tally adds up the stake of distinct authors; adding an author twice counts it once.
type Tally struct {
	c     *Committee
	seen  []bool
	stake int64
}

// NewTally starts an empty tally over the committee.
func (c *Committee) NewTally() *Tally { return &Tally{c: c, seen: make([]bool, len(c.Validators))} }

// Add counts the author's stake once and reports whether the tally now reaches a quorum.
func (t *Tally) Add(author int) bool {
	if author >= 0 && author < len(t.seen) && !t.seen[author] {
		t.seen[author] = true
		t.stake += t.c.Validators[author].Power
	}
	return t.c.IsQuorum(t.stake)
}

// Stake is the total counted so far.
func (t *Tally) Stake() int64 { return t.stake }

// Quorum reports whether the counted stake is a quorum.
func (t *Tally) Quorum() bool { return t.c.IsQuorum(t.stake) }

// Has reports whether the author was counted.
func (t *Tally) Has(author int) bool { return author >= 0 && author < len(t.seen) && t.seen[author] }
