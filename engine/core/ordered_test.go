package core_test

import (
	. "github.com/tutti-bft/tutti/engine/core"
	"testing"
)

// A node whose execution lags (a slow app) keeps a transaction in its mempool after
// ordering it, and the mempool may offer it again. Past the dedupe window the linearizer
// would order it a second time, so the core remembers it until it has executed it.
func TestAnOrderedTransactionIsNotProposedAgainBeforeItIsExecuted(t *testing.T) {
	cl := newCluster(t, 4, 26, nil)
	cl.holdResults[0] = true // validator 0 executes nothing for now
	for i := 0; i < cl.n; i++ {
		cl.step(i, Restart{})
	}
	for range 50 {
		cl.tick()
	}
	cl.step(0, PayloadAvailable{Txs: [][]byte{[]byte("once")}})
	for range 400 {
		if _, ok := cl.position(0, "once"); ok {
			break
		}
		cl.tick()
	}
	if _, ok := cl.position(0, "once"); !ok {
		t.Fatal("the transaction was never ordered")
	}
	past := cl.cores[0].DAG().HighestRound() + cl.cores[0].Config().DedupeRounds + 10
	for cl.cores[0].DAG().HighestRound() < past {
		cl.tick()
	}
	cl.step(0, PayloadAvailable{Txs: [][]byte{[]byte("once")}}) // still in its mempool: not executed
	for range 200 {
		cl.tick()
	}
	if n := cl.carriedBy("once"); n != 1 {
		t.Fatalf("the transaction is in %d blocks, want 1", n)
	}
	cl.holdResults[0] = false
	for range 200 {
		cl.tick()
	}
	cl.checkAgreement(3)
	if n := cl.cores[0].OrderedRemembered(); n > 200 {
		t.Fatalf("%d ordered transactions still remembered after the executor caught up", n)
	}
}
