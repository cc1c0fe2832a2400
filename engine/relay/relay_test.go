package relay

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"
)

var (
	valA, valB = []byte("validator A key"), []byte("validator B key")
	peers      = []Peer{{ID: "a", Validator: valA}, {ID: "b", Validator: valB}, {ID: "f", Validator: nil}}
)

func TestRoute(t *testing.T) {
	// Validator A's peers: validator B and full node f. Full node g's peers: A, B and f.
	ofA := []Peer{{ID: "b", Validator: valB}, {ID: "f"}}
	ofG := []Peer{{ID: "a", Validator: valA}, {ID: "b", Validator: valB}, {ID: "f"}}
	for _, c := range []struct {
		name    string
		self    []byte
		peers   []Peer
		from    From
		owner   []byte
		propose bool
		to      []string
	}{
		{"a validator's client tx: it proposes, tells everyone", valA, ofA, From{}, valA, true, []string{"b", "f"}},
		{"a validator relays another's only to full nodes", valA, ofA, From{Peer: "b", Owner: valB}, valB, false, []string{"f"}},
		{"a validator named owner by a full node proposes", valA, ofA, From{Peer: "f", Owner: valA}, valA, true, nil},
		{"a relay naming no owner makes the validator it", valA, ofA, From{Peer: "f"}, valA, true, []string{"b"}},
		{"a full node passes a named relay to all but the sender", nil, ofG, From{Peer: "a", Owner: valA}, valA, false, []string{"b", "f"}},
	} {
		d := Route(c.self, []byte("tx"), c.from, c.peers)
		if !bytes.Equal(d.Owner, c.owner) || d.Propose != c.propose || !slices.Equal(d.To, c.to) {
			t.Errorf("%s: got owner %q propose %v to %v", c.name, d.Owner, d.Propose, d.To)
		}
	}
}

// A full node's clients' transactions are spread over the validators it knows, each
// owned by exactly one, deterministically.
func TestFullNodePicksOneValidatorPerTransaction(t *testing.T) {
	count := map[string]int{}
	for i := 0; i < 200; i++ {
		tx := []byte(fmt.Sprintf("tx-%d", i))
		d := Route(nil, tx, From{}, peers)
		again := Route(nil, tx, From{}, []Peer{peers[2], peers[1], peers[0]})
		if !bytes.Equal(d.Owner, again.Owner) {
			t.Fatal("the owner depends on the order peers are listed in")
		}
		if d.Propose || len(d.To) != 3 {
			t.Fatalf("a full node: %+v", d)
		}
		count[string(d.Owner)]++
	}
	if count[string(valA)] < 60 || count[string(valB)] < 60 || len(count) != 2 {
		t.Fatalf("owners: %v", count)
	}
	if d := Route(nil, []byte("x"), From{}, []Peer{{ID: "f2"}}); d.Owner != nil {
		t.Fatalf("no validator peer known, yet owner %q", d.Owner)
	}
}

func TestLimiterRefillsAndCaps(t *testing.T) {
	l := NewLimiter(10, 1000)
	t0 := time.Unix(100, 0)
	if !l.Allow("p", t0, 10, 100) {
		t.Fatal("a full bucket refused its rate")
	}
	if l.Allow("p", t0, 1, 1) {
		t.Fatal("an empty bucket allowed more")
	}
	if !l.Allow("q", t0, 5, 500) {
		t.Fatal("one peer's use limited another")
	}
	if !l.Allow("p", t0.Add(500*time.Millisecond), 5, 50) || l.Allow("p", t0.Add(500*time.Millisecond), 1, 1) {
		t.Fatal("half a second should refill half the rate, no more")
	}
	if l.Allow("p", t0.Add(time.Hour), 11, 1) {
		t.Fatal("an idle peer's bucket grew beyond one second of its rate")
	}
	if l.Allow("q", t0, 1, 600) {
		t.Fatal("the byte bucket did not limit")
	}
}

func TestOutboxBatchesByPeerAndOwner(t *testing.T) {
	o := NewOutbox(2, 10)
	o.Add(Decision{Owner: valA, To: []string{"x", "y"}}, []byte("1"))
	o.Add(Decision{Owner: valA, To: []string{"x"}}, []byte("2"))
	o.Add(Decision{Owner: valA, To: []string{"x"}}, []byte("3")) // batch of 2 full
	o.Add(Decision{Owner: valB, To: []string{"x"}}, []byte("4"))
	o.Add(Decision{Owner: valB, To: []string{"x"}}, []byte("0123456789")) // over 10 bytes together
	var got []string
	for _, m := range o.Take() {
		got = append(got, fmt.Sprintf("%s/%c:%s", m.Peer, m.Owner[10], bytes.Join(m.Txs, []byte(","))))
	}
	want := []string{"x/A:1,2", "y/A:1", "x/A:3", "x/B:4", "x/B:0123456789"}
	if !slices.Equal(got, want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	if o.Len() != 0 || len(o.Take()) != 0 {
		t.Fatal("Take did not empty the outbox")
	}
}
