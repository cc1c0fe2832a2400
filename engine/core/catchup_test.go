package core_test

import (
	. "github.com/tutti-bft/tutti/engine/core"
	"testing"
	"time"
)

// Catching up beyond the GC horizon (sync.go): the peers no longer hold the rounds a node
// missed in memory, so it asks them for what it lacks, oldest first, and they answer from
// storage. Without it such a node waits forever on parents nobody sends.

// runUntil ticks the cluster for d.
func (cl *cluster) runUntil(d time.Duration) {
	for end := cl.now.Add(d); cl.now.Before(end); {
		cl.tick()
	}
}

// TestValidatorBackFromBeyondTheGCHorizonCatchesUp: validator 3 is cut off for 3 s, about
// 100 rounds, with a GC depth of 20. Back, it syncs the DAG it missed from its peers'
// storage, orders it to the same blocks and proposes again.
func TestValidatorBackFromBeyondTheGCHorizonCatchesUp(t *testing.T) {
	cl := newCluster(t, 4, 31, nil)
	cl.run0(300 * time.Millisecond)
	cl.crashed[3] = true
	cl.runUntil(3 * time.Second)
	gap := cl.cores[0].Stats().GCRound - cl.cores[3].Stats().Round
	if int64(gap) <= 0 {
		t.Fatalf("validator 3 is not behind the others' GC round (their GC %d, its round %d)", cl.cores[0].Stats().GCRound, cl.cores[3].Stats().Round)
	}
	cl.crashed[3] = false
	cl.run0(3 * time.Second)
	s3 := cl.cores[3].Stats()
	if s3.SyncRequests == 0 {
		t.Fatal("validator 3 caught up without a sync request: the test did not take it beyond the horizon")
	}
	served := uint64(0)
	for i := 0; i < 3; i++ {
		served += cl.cores[i].Stats().ServedFromStorage
	}
	if served == 0 {
		t.Fatal("no peer answered from storage")
	}
	cl.checkAgreement(int64(len(cl.blocks[0])) - 3)
	if own := cl.cores[0].DAG().Latest(3); own == nil || own.Round+10 < cl.cores[0].Stats().Round {
		t.Fatal("validator 3 does not propose at the head again")
	}
	t.Logf("validator 3 was %d rounds behind the others' GC round; %d sync requests, %d answers from storage; heights %d and %d",
		gap, s3.SyncRequests, served, len(cl.blocks[3]), len(cl.blocks[0]))
}

// TestFullNodeJoiningLateSyncsFromGenesis: a full node (not a validator) starts 3 s after
// the validators, with a GC depth of 20: it syncs the whole DAG from their storage and
// delivers the same blocks.
func TestFullNodeJoiningLateSyncsFromGenesis(t *testing.T) {
	cl, _, _ := newEpochCluster(t, 5, 4, 32, nil)
	cl.crashed[4] = true
	cl.run0(3 * time.Second)
	if len(cl.blocks[4]) != 0 {
		t.Fatal("the full node delivered blocks before it started")
	}
	cl.crashed[4] = false
	cl.step(4, Restart{})
	cl.runUntil(3 * time.Second)
	if cl.cores[4].Stats().SyncRequests == 0 {
		t.Fatal("the full node caught up without a sync request")
	}
	cl.checkAgreement(int64(len(cl.blocks[0])) - 3)
}

// TestLaggingNodeFinishesTheOldEpochBeyondTheHorizon: as TestLaggingNodeFinishesTheOldEpoch,
// with a GC depth the cut-off far exceeds: the node syncs the rest of epoch 1 from the
// others' storage (they run epoch 2), then epoch 2.
func TestLaggingNodeFinishesTheOldEpochBeyondTheHorizon(t *testing.T) {
	cl, _, _ := newEpochCluster(t, 4, 4, 24, nil)
	cl.updates[4] = []ValidatorUpdate{{PubKey: cl.signers[0].PubKey(), Power: 2}}
	cl.run0(200 * time.Millisecond)
	cl.crashed[3] = true
	cl.runUntil(3 * time.Second)
	if e := cl.cores[0].Stats().Epoch; e != 2 || cl.cores[3].Stats().Epoch != 1 {
		t.Fatalf("before the return: node 0 in epoch %d, node 3 in %d; want 2 and 1", e, cl.cores[3].Stats().Epoch)
	}
	cl.crashed[3] = false
	cl.run0(3 * time.Second)
	if e := cl.cores[3].Stats().Epoch; e != 2 {
		t.Fatalf("node 3 is still in epoch %d", e)
	}
	cl.checkAgreement(int64(len(cl.blocks[0])) - 3)
}

// TestValidatorBackFromBeyondTheRoundsAheadCatchesUp: validator 3 is away for more rounds
// than the DAG looks ahead (dag.Config.MaxRoundsAhead, 1,000), so every block its peers
// broadcast when it is back is too far above it to keep; a verified one must still make it
// sync, or it never catches up.
func TestValidatorBackFromBeyondTheRoundsAheadCatchesUp(t *testing.T) {
	cl := newCluster(t, 4, 33, nil)
	cl.run0(300 * time.Millisecond)
	cl.crashed[3] = true
	for cl.cores[0].Stats().Round < cl.cores[3].Stats().Round+1100 {
		cl.runUntil(time.Second)
	}
	away := cl.cores[0].Stats().Round - cl.cores[3].Stats().Round
	cl.crashed[3] = false
	cl.run0(5 * time.Second)
	s0, s3 := cl.cores[0].Stats(), cl.cores[3].Stats()
	if s3.SyncRequests == 0 || s3.Round+20 < s0.Round {
		t.Fatalf("validator 3, %d rounds behind when back, is at round %d with %d sync requests; the others at %d", away, s3.Round, s3.SyncRequests, s0.Round)
	}
	cl.checkAgreement(int64(len(cl.blocks[0])) - 3)
	t.Logf("validator 3 was %d rounds behind; %d sync requests; rounds %d and %d, heights %d and %d",
		away, s3.SyncRequests, s3.Round, s0.Round, len(cl.blocks[3]), len(cl.blocks[0]))
}
