package core_test

import (
	"fmt"
	. "github.com/tutti-bft/tutti/engine/core"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/wire"
)

// Blocks that reach the others late must still be ordered, or their transactions handed
// back: both cases once left acknowledged transactions unordered for good while heights
// kept coming (simulator seed 1544).

// runFor advances the cluster by d, offering txs to node `to` every 50 ms while offering.
func (cl *cluster) runFor(d time.Duration, to int, offering bool, txs *[]string) {
	for end := cl.now.Add(d); cl.now.Before(end); {
		if offering && cl.now.UnixMilli()%50 == 0 {
			cl.txSeq++
			tx := fmt.Sprintf("tx-%d-to-%d", cl.txSeq, to)
			*txs = append(*txs, tx)
			cl.step(to, PayloadAvailable{Txs: [][]byte{[]byte(tx)}})
		}
		cl.tick()
	}
}

// delivered reports which of txs node i's chain holds, failing on any held twice.
func (cl *cluster) missingTxs(i int, txs []string) []string {
	cl.t.Helper()
	count := map[string]int{}
	for _, b := range cl.blocks[i] {
		for _, tx := range b.Txs {
			count[string(tx)]++
		}
	}
	var missing []string
	for _, tx := range txs {
		switch count[tx] {
		case 0:
			missing = append(missing, tx)
		case 1:
		default:
			cl.t.Fatalf("node %d delivered %q %d times", i, tx, count[tx])
		}
	}
	return missing
}

// Validator 0 holds a quorum alone. First nobody hears validators 1-3, so the reputation
// schedule demotes them (25 of 108 is within f) and validator 0 leads alone: it never waits
// for anyone, so no leader timeout fires and it never stalls. Then it loses some of their
// blocks and every answer to its fetch requests for a while; once the network is whole
// again it must ask again for what it still misses, or their blocks stay suspended in its
// DAG, they stay demoted, and their transactions are never ordered until the GC round
// passes them.
func TestQuorumHolderAsksAgainForBlocksItLost(t *testing.T) {
	// A GC depth the test does not outrun: collecting the lost blocks' rounds would accept
	// what waits on them, and hide the bug.
	cl := newWeightedCluster(t, []int64{83, 2, 22, 1}, 3, func(c *Config) { c.GCDepth = 300; c.ReputationWindow = 4 })
	phase, n := 1, 0
	cl.drop = func(from, to int, m wire.Message) bool {
		switch {
		case phase == 1:
			return from != 0
		case phase == 2 && to == 0:
			n++
			return m.IsFetchResponse() || n%2 == 0
		}
		return false
	}
	for i := 0; i < cl.n; i++ {
		cl.step(i, Restart{})
	}
	var txs []string
	cl.runFor(1500*time.Millisecond, 1, false, &txs)
	if got := cl.cores[0].Committer().Schedule().Leaders(cl.cores[0].LastOwnRound() + 1); len(got) != 1 || got[0] != 0 {
		t.Fatalf("leaders after the silence are %v, want validator 0 alone", got)
	}
	phase = 2
	cl.runFor(500*time.Millisecond, 1, true, &txs)
	phase = 3
	cl.runFor(time.Second, 1, true, &txs)
	cl.runFor(3*time.Second, 1, false, &txs)
	cl.checkAgreement(10)
	if missing := cl.missingTxs(0, txs); len(missing) > 0 {
		t.Fatalf("%d of the %d transactions validator 1 proposed were never ordered, first %q", len(missing), len(txs), missing[0])
	}
}

// Validator 3's blocks reach nobody for longer than the GC depth: when they arrive they are
// below every GC round and no leader can order them. Validator 3 puts their transactions
// back in its queue when its own GC round passes them, so each is ordered once, later.
func TestCollectedUnorderedOwnBlockIsProposedAgain(t *testing.T) {
	cl := newCluster(t, 4, 5, nil)
	cut := true
	cl.drop = func(from, _ int, _ wire.Message) bool { return cut && from == 3 }
	for i := 0; i < cl.n; i++ {
		cl.step(i, Restart{})
	}
	var txs []string
	cl.runFor(2*time.Second, 3, true, &txs)
	cut = false
	// Half a second more than ten empty blocks need: height 2 waits out the straggler wait
	// for validator 3, expected to attest height 1 and silent.
	cl.runFor(3500*time.Millisecond, 3, false, &txs)
	cl.checkAgreement(10)
	if missing := cl.missingTxs(0, txs); len(missing) > 0 {
		t.Fatalf("%d of the %d transactions validator 3 proposed were never ordered, first %q", len(missing), len(txs), missing[0])
	}
	if got := cl.cores[3].Stats().Requeued; got == 0 {
		t.Fatal("validator 3 requeued nothing: the test did not push its blocks below the GC round")
	}
}
