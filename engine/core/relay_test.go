package core_test

import (
	"fmt"
	. "github.com/tutti-bft/tutti/engine/core"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
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

// Validator 3 accepted a transaction, relayed it and crashed before proposing it: once
// its blocks trail the DAG, the others take it over, and it is committed exactly once.
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
	start := cl.cores[0].DAG().HighestRound()
	for cl.cores[0].DAG().HighestRound() < start+StaleRounds-1 {
		cl.tick()
	}
	if cl.carriedBy("orphan") > 0 {
		t.Fatal("taken over before the owner's blocks trailed the DAG by StaleRounds")
	}
	for range 600 {
		cl.tick()
	}
	cl.checkAgreement(5) // also fails on a transaction committed twice
	if _, ok := cl.position(0, "orphan"); !ok {
		t.Fatal("the crashed validator's relayed transaction was never committed")
	}
}

// carriedBy counts the distinct blocks, persisted by any node, that carry tx.
func (cl *cluster) carriedBy(tx string) int {
	blocks := map[[32]byte]bool{}
	for _, stored := range cl.stored {
		for _, b := range stored {
			for _, t := range b.Txs {
				if string(t) == tx {
					blocks[b.Digest()] = true
				}
			}
		}
	}
	return len(blocks)
}

// Validators 0 and 1 each hold their own client's transaction behind the other's, which
// the other holds back too (as a client hopping between them faster than their rounds can
// make them). Once the other has sent blocks without it, each lets its own go: both are
// committed quickly, each proposed once, by its owner.
func TestCrossedRelayedTransactionsReleaseEachOther(t *testing.T) {
	cl := newCluster(t, 4, 24, nil)
	for i := 0; i < cl.n; i++ {
		cl.step(i, Restart{})
	}
	for range 100 {
		cl.tick()
	}
	cl.step(0, TxsRelayed{Txs: []RelayedTx{{Seq: 1, Tx: []byte("x"), Owner: cl.signers[1].PubKey()}}})
	cl.step(1, TxsRelayed{Txs: []RelayedTx{{Seq: 1, Tx: []byte("a"), Owner: cl.signers[0].PubKey()}}})
	cl.step(0, PayloadAvailable{Txs: [][]byte{[]byte("a")}, AfterRelayed: 1})
	cl.step(1, PayloadAvailable{Txs: [][]byte{[]byte("x")}, AfterRelayed: 1})
	for range 400 { // 2 s; heights close at most every 500 ms when empty
		cl.tick()
	}
	cl.checkAgreement(3)
	for _, tx := range []string{"a", "x"} {
		if _, ok := cl.position(2, tx); !ok {
			t.Fatalf("%s never committed: the crossed wait did not resolve", tx)
		}
		if n := cl.carriedBy(tx); n != 1 {
			t.Fatalf("%s carried by %d blocks, want its owner's alone", tx, n)
		}
	}
}

// The owner is alive but never proposes the relayed transaction (it lost it): ours,
// admitted after it, goes out once the owner sent a block without it; the lost one is
// taken over after TakeoverDelay. A relayed transaction the mempool dropped is never
// carried.
func TestLostRelayedTransactionIsReleasedThenTakenOver(t *testing.T) {
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
	for range 300 {
		cl.tick()
	}
	if _, ok := cl.position(1, "mine"); !ok {
		t.Fatal("ours is still held behind a relayed transaction its live owner does not propose")
	}
	if _, ok := cl.position(1, "lost"); ok {
		t.Fatal("the lost transaction was taken over before TakeoverDelay")
	}
	for end := cl.now.Add(cl.cores[1].Config().TakeoverDelay + time.Second); cl.now.Before(end); {
		cl.tick()
	}
	cl.checkAgreement(3)
	if _, ok := cl.position(1, "lost"); !ok {
		t.Fatal("the lost relayed transaction was never taken over")
	}
	if _, ok := cl.position(1, "dropped"); ok {
		t.Fatal("a relayed transaction the mempool dropped was carried")
	}
}

// A relay can reach a validator after the transaction was ordered (the owner's copy beat
// it), and the mempool can report a fallback's admission and its drop in one batch. Neither
// may leave a fallback waiting: it would be taken over after TakeoverDelay and, once the
// dedupe window had passed, ordered a second time.
func TestLateRelayOfAnOrderedTransactionIsNeverCarried(t *testing.T) {
	cl := newCluster(t, 4, 25, nil)
	for i := 0; i < cl.n; i++ {
		cl.step(i, Restart{})
	}
	for range 50 {
		cl.tick()
	}
	owner := cl.signers[0].PubKey()
	cl.step(0, PayloadAvailable{Txs: [][]byte{[]byte("early")}})
	for range 400 {
		if _, ok := cl.position(1, "early"); ok {
			break
		}
		cl.tick()
	}
	if _, ok := cl.position(1, "early"); !ok {
		t.Fatal("the owner's transaction was never ordered")
	}
	cl.step(1, TxsRelayed{Txs: []RelayedTx{{Seq: 1, Tx: []byte("early"), Owner: owner}}})
	cl.step(2, TxsRelayed{Txs: []RelayedTx{{Seq: 1, Tx: []byte("gone"), Owner: owner}}, Dropped: []uint64{1}})
	for end := cl.now.Add(cl.cores[1].Config().TakeoverDelay + time.Second); cl.now.Before(end); {
		cl.tick()
	}
	cl.checkAgreement(3)
	if n := cl.carriedBy("early"); n != 1 {
		t.Fatalf("the late-relayed transaction is in %d blocks, want only its owner's", n)
	}
	if n := cl.carriedBy("gone"); n != 0 {
		t.Fatalf("a fallback admitted and dropped in one batch is in %d blocks, want none", n)
	}
}

// An equivocator carries a relayed transaction in one block of a slot and not in the other,
// and the other is ordered: the copy the validators saw can never be ordered. They must
// count it unseen and take it over, whether the carrying block came before the slot was
// ordered (the ordered block was the twin) or after (a late twin).
func TestRelayedTransactionSeenOnlyInALostTwinIsTakenOver(t *testing.T) {
	for _, tc := range []struct {
		name string
		late bool
		seed uint64
	}{{"twin ordered instead", false, 26}, {"twin arrives after its slot was ordered", true, 27}} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t, 4, tc.seed, nil)
			for i := 0; i < cl.n; i++ {
				cl.step(i, Restart{})
			}
			for range 50 {
				cl.tick()
			}
			// Validator 0 owns it and lost it; 1 and 2 hold it as a fallback.
			owner := cl.signers[0].PubKey()
			for _, i := range []int{1, 2} {
				cl.step(i, TxsRelayed{Txs: []RelayedTx{{Seq: 1, Tx: []byte("forked"), Owner: owner}}})
			}
			var twin *types.Block
			cl.broadcast = func(i int, b *types.Block) bool {
				if i != 3 || twin != nil {
					return false
				}
				twin = &types.Block{Epoch: b.Epoch, Round: b.Round, Author: b.Author, TimeMs: b.TimeMs,
					Parents: b.Parents, Txs: append(append([][]byte(nil), b.Txs...), []byte("forked")), Attestation: b.Attestation}
				twin.Signature = cl.signers[3].SignAnyway(types.SignBytes("test-chain", twin.Round, twin.Digest()))
				for j := 0; j < cl.n; j++ {
					switch {
					case j == 0 || j == 3 || tc.late:
						cl.send(i, j, wire.BlockMessage(b))
					default:
						cl.send(i, j, wire.BlockMessage(twin))
					}
				}
				return true
			}
			for twin == nil {
				cl.tick()
			}
			given := map[int]bool{}
			for !cl.cores[1].Linearizer().SlotOrdered(twin.Slot()) || !cl.cores[2].Linearizer().SlotOrdered(twin.Slot()) || tc.late && len(given) < 2 {
				for _, j := range []int{1, 2} {
					if tc.late && !given[j] && cl.cores[j].Linearizer().SlotOrdered(twin.Slot()) {
						given[j] = true
						cl.step(j, BlockReceived{From: 3, Block: twin})
					}
				}
				cl.tick()
			}
			for range 40 { // the slot's commit reaches a height
				cl.tick()
			}
			if _, ok := cl.position(1, "forked"); ok {
				t.Fatal("the twin carrying the transaction was ordered: the test does not exercise a lost copy")
			}
			for end := cl.now.Add(cl.cores[1].Config().TakeoverDelay + time.Second); cl.now.Before(end); {
				cl.tick()
			}
			cl.checkAgreement(3)
			if _, ok := cl.position(1, "forked"); !ok {
				t.Fatal("the transaction seen only in the lost twin was never taken over")
			}
		})
	}
}
