package core

import (
	"fmt"
	"testing"
	"time"
)

// position is where a transaction sits in node i's chain: (height, index), or ok false.
func (cl *cluster) position(i int, tx string) (pos [2]int, ok bool) {
	for _, b := range cl.blocks[i] {
		for j, t := range b.Txs {
			if string(t) == tx {
				return [2]int{int(b.Height), j}, true
			}
		}
	}
	return pos, false
}

func before(a, b [2]int) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }

// A client sends a transaction to validator 0, then, once it was accepted, the next one to
// validator 1 (which had the first relayed to it). Both propose at once, so without the
// order rule validator 1's block of the same round is ordered before validator 0's about
// half the time. With it, every pair is ordered as sent.
func TestRelayedTransactionsKeepTheClientsOrder(t *testing.T) {
	run := func(rule bool) (flipped, pairs int) {
		cl := newCluster(t, 4, 21, nil)
		for i := 0; i < cl.n; i++ {
			cl.step(i, Restart{})
		}
		owner := cl.signers[0].PubKey()
		var seq uint64
		for p := 0; p < 40; p++ {
			first, second := fmt.Sprintf("first-%d", p), fmt.Sprintf("second-%d", p)
			cl.step(0, PayloadAvailable{Txs: [][]byte{[]byte(first)}})
			seq++
			cl.step(1, TxsRelayed{Txs: []RelayedTx{{Seq: seq, Tx: []byte(first), Owner: owner}}})
			barrier := seq
			if !rule {
				barrier = 0
			}
			cl.step(1, PayloadAvailable{Txs: [][]byte{[]byte(second)}, AfterRelayed: barrier})
			for range 30 {
				cl.tick()
			}
		}
		for range 400 {
			cl.tick()
		}
		cl.checkAgreement(10)
		for p := 0; p < 40; p++ {
			a, okA := cl.position(2, fmt.Sprintf("first-%d", p))
			b, okB := cl.position(2, fmt.Sprintf("second-%d", p))
			if !okA || !okB {
				t.Fatalf("pair %d not committed (rule %v): %v %v", p, rule, okA, okB)
			}
			pairs++
			if !before(a, b) {
				flipped++
			}
		}
		return flipped, pairs
	}
	flipped, pairs := run(true)
	t.Logf("with the order rule: %d of %d pairs out of order", flipped, pairs)
	if flipped != 0 {
		t.Fatalf("%d of %d pairs committed out of the order the client sent them", flipped, pairs)
	}
	flipped, pairs = run(false)
	t.Logf("without it: %d of %d pairs out of order", flipped, pairs)
	if flipped == 0 {
		t.Fatal("without the order rule no pair flipped: the test does not exercise it")
	}
}

// Validator 3 accepted a transaction, relayed it and crashed before proposing it: the
// others take it over once it has been out of the DAG for TakeoverDelay while validator 3
// sent nothing, and it is committed exactly once.
func TestRelayedTransactionOfACrashedValidatorIsTakenOver(t *testing.T) {
	cl := newCluster(t, 4, 22, nil)
	for i := 0; i < cl.n; i++ {
		cl.step(i, Restart{})
	}
	for range 100 {
		cl.tick()
	}
	cl.crashed[3] = true
	owner := cl.signers[3].PubKey()
	for i := 0; i < 3; i++ {
		cl.step(i, TxsRelayed{Txs: []RelayedTx{{Seq: 1, Tx: []byte("orphan"), Owner: owner}}})
	}
	delay := cl.cores[0].cfg.TakeoverDelay
	for end := cl.now.Add(delay / 2); cl.now.Before(end); {
		cl.tick()
	}
	if _, ok := cl.position(0, "orphan"); ok {
		t.Fatalf("taken over after %v, before the takeover delay %v", delay/2, delay)
	}
	for end := cl.now.Add(delay + 2*time.Second); cl.now.Before(end); {
		cl.tick()
	}
	cl.checkAgreement(5) // also fails on a transaction committed twice
	if _, ok := cl.position(0, "orphan"); !ok {
		t.Fatal("the crashed validator's relayed transaction was never committed")
	}
}

// The owner is alive but never proposes the relayed transaction (it lost it): a
// transaction of ours admitted after it waits RelayWait, then we carry the relayed one
// ahead of ours. A relayed transaction the mempool dropped holds nothing back.
func TestRelayWaitCarriesTheRelayedTransactionAhead(t *testing.T) {
	cl := newCluster(t, 4, 23, nil)
	for i := 0; i < cl.n; i++ {
		cl.step(i, Restart{})
	}
	for range 50 {
		cl.tick()
	}
	owner := cl.signers[0].PubKey()
	cl.step(1, TxsRelayed{Txs: []RelayedTx{{Seq: 1, Tx: []byte("dropped"), Owner: owner}, {Seq: 2, Tx: []byte("lost"), Owner: owner}}})
	cl.step(1, TxsRelayed{Dropped: []uint64{1}})
	cl.step(1, PayloadAvailable{Txs: [][]byte{[]byte("mine")}, AfterRelayed: 2})
	wait := cl.cores[1].cfg.RelayWait
	for end := cl.now.Add(wait / 2); cl.now.Before(end); {
		cl.tick()
	}
	if _, ok := cl.position(1, "mine"); ok {
		t.Fatal("our transaction was committed before the relayed one admitted before it reached the DAG")
	}
	for range 600 {
		cl.tick()
	}
	cl.checkAgreement(3)
	lost, okLost := cl.position(1, "lost")
	mine, okMine := cl.position(1, "mine")
	if !okLost || !okMine || !before(lost, mine) {
		t.Fatalf("lost at %v (%v), mine at %v (%v): want both, the relayed one first", lost, okLost, mine, okMine)
	}
	if _, ok := cl.position(1, "dropped"); ok {
		t.Fatal("a relayed transaction the mempool dropped was carried")
	}
}
