package core_test

import (
	"bytes"
	"fmt"
	. "github.com/tutti-bft/tutti/engine/core"
	"strings"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/types"
)

// TestOwnBlockIsPersistedBeforeBroadcast checks the order-of-effects rule on everything the
// drivers carry out in a run, and that the planted mutation breaks it (with the driver's
// own check off, so the run goes on and the breaches are counted here).
func TestOwnBlockIsPersistedBeforeBroadcast(t *testing.T) {
	for _, mutated := range []bool{false, true} {
		cl := newCluster(t, 4, 5, func(c *Config) { c.Mutations.BroadcastBeforePersist = mutated })
		for _, d := range cl.drivers {
			d.SkipSendCheck = mutated
		}
		violations, broadcasts := 0, 0
		synced := map[types.Ref]bool{}
		cl.observe = func(_ int, a Action) {
			switch a := a.(type) {
			case Persist:
				for _, b := range a.Blocks {
					if a.Sync {
						synced[b.Ref()] = true
					}
				}
			case Broadcast:
				broadcasts++
				if !synced[a.Block.Ref()] {
					violations++
				}
			}
		}
		for i := 0; i < 4; i++ {
			cl.step(i, Restart{})
		}
		for step := 0; step < 200; step++ {
			cl.now = cl.now.Add(5 * time.Millisecond)
			for i := 0; i < 4; i++ {
				cl.step(i, TimerFired{Kind: MinDelay})
			}
			cl.tick()
		}
		if broadcasts == 0 {
			t.Fatal("no broadcasts")
		}
		if mutated != (violations > 0) {
			t.Fatalf("mutation %v: %d of %d broadcasts not preceded by a synced persist", mutated, violations, broadcasts)
		}
	}
}

// TestRestoreReplaysToTheSameState restarts one core from its persisted blocks: it
// rebuilds the same chain without re-delivering heights, never re-signs a round, and goes
// on agreeing with the others.
func TestRestoreReplaysToTheSameState(t *testing.T) {
	cl := newCluster(t, 4, 6, nil)
	stored := map[types.Ref]*types.Block{}
	var order []*types.Block
	origRun := func(i int, a Action) {
		if p, ok := a.(Persist); ok && i == 2 {
			for _, b := range p.Blocks {
				if _, dup := stored[b.Ref()]; !dup {
					stored[b.Ref()] = b
					order = append(order, b)
				}
			}
		}
	}
	cl.observe = origRun
	cl.run0(time.Second)
	before := cl.cores[2].Stats()
	delivered := int64(len(cl.blocks[2]))
	if delivered < 3 {
		t.Fatalf("node 2 delivered only %d blocks before the restart", delivered)
	}
	// Restart from storage with a fresh signer that remembers nothing: the core itself
	// must not propose at a round it already signed.
	fresh := types.NewMemSigner([]byte("validator-2"))
	c, replayed, err := Restore(cl.cores[2].Config(), 2, fresh, types.Ed25519Verifier{}, State{Blocks: order, LastDeliveredHeight: delivered})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range replayed {
		if d, ok := a.(DeliverABCIBlock); ok && d.Block.Height <= delivered {
			t.Fatalf("height %d delivered again after restore", d.Block.Height)
		}
	}
	after := c.Stats()
	if after.Commits != before.Commits || after.Height != before.Height {
		t.Fatalf("restored commits %d height %d, before %d and %d", after.Commits, after.Height, before.Commits, before.Height)
	}
	if c.LastOwnRound() != cl.cores[2].LastOwnRound() {
		t.Fatalf("restored last own round %d, want %d", c.LastOwnRound(), cl.cores[2].LastOwnRound())
	}
	cl.signers[2] = fresh
	cl.setCore(2, c, replayed)
	lastRound := before.Round
	cl.run0(2 * time.Second)
	cl.checkAgreement(delivered + 3)
	if c.Stats().Round <= lastRound {
		t.Fatal("the restored core did not propose again")
	}
}

func TestForkedAppHashHalts(t *testing.T) {
	cl := newCluster(t, 4, 7, nil)
	cl.corruptApp = 1
	halted := false
	cl.onHalt = func(i int, reason string) {
		if i == 1 && bytes.Contains([]byte(reason), []byte("app hash fork")) {
			halted = true
		}
	}
	cl.run0(2 * time.Second)
	if !halted {
		t.Fatal("a node whose app hash differs from the quorum's did not halt")
	}
	if !cl.cores[1].Halted() || cl.cores[0].Halted() {
		t.Fatal("only the forked node must halt")
	}
}

func TestPayloadBeyondCapIsDeclined(t *testing.T) {
	com, signers := testCommittee(t, []int64{1, 1, 1, 1})
	cfg := testConfig(com)
	cfg.MaxPendingTxBytes = 10
	c, err := New(cfg, 0, signers[0], types.Ed25519Verifier{})
	if err != nil {
		t.Fatal(err)
	}
	acts := c.Step(time.UnixMilli(0), PayloadAvailable{Txs: [][]byte{[]byte("12345"), []byte("67890"), []byte("x")}})
	var declined [][]byte
	for _, a := range acts {
		if d, ok := a.(PayloadDeclined); ok {
			declined = d.Txs
		}
	}
	if len(declined) != 1 || string(declined[0]) != "x" {
		t.Fatalf("declined %q, want the tx beyond the 10-byte cap", declined)
	}
}

// TestSameSeedSameRun: the cores are deterministic, so the same inputs replay to the same
// chain (what the simulator's trace-hash check relies on).
func TestSameSeedSameRun(t *testing.T) {
	var runs [2][]byte
	for k := range runs {
		cl := newCluster(t, 4, 11, nil)
		cl.run0(time.Second)
		for _, b := range cl.blocks[0] {
			runs[k] = append(runs[k], b.Hash...)
		}
		if len(cl.blocks[0]) < 3 {
			t.Fatalf("run %d delivered %d blocks", k, len(cl.blocks[0]))
		}
	}
	if !bytes.Equal(runs[0], runs[1]) {
		t.Fatal("two runs with the same seed delivered different chains")
	}
}

// TestForgedOwnBlockDoesNotSilenceUs: a block claiming to be ours at a far round but not
// signed by our key must not move our last own round.
func TestForgedOwnBlockDoesNotSilenceUs(t *testing.T) {
	cl := newCluster(t, 4, 13, nil)
	cl.run0(300 * time.Millisecond)
	own := cl.cores[0].DAG().Latest(0)
	forged := &types.Block{Epoch: own.Epoch, Round: own.Round + 500, Author: 0, TimeMs: own.TimeMs,
		Parents: own.Parents, Signature: cl.signers[1].SignAnyway([]byte("not ours"))}
	before := cl.cores[0].LastOwnRound()
	cl.step(0, BlockReceived{From: 1, Block: forged})
	if cl.cores[0].LastOwnRound() != before || cl.cores[0].Stats().Rejected == 0 {
		t.Fatalf("forged block moved last own round from %d to %d", before, cl.cores[0].LastOwnRound())
	}
}

func TestGenesisRoundZeroIsRefused(t *testing.T) {
	com, signers := testCommittee(t, []int64{1, 1, 1, 1})
	cfg := testConfig(com)
	cfg.Epoch.StartRound = 0
	if _, err := New(cfg, 0, signers[0], types.Ed25519Verifier{}); err == nil {
		t.Fatal("a genesis round of 0 was accepted: every round-1 block would then lack its genesis parents")
	}
}

// A node whose app forks while its execution lags the cut by 40 heights halts at the first
// height it executes: the quorum's hashes wait for its execution however far it lags. The
// same for a fork of the results hash alone.
func TestForkHaltsWhateverTheExecutionLag(t *testing.T) {
	const lag = 40
	for _, tc := range []struct {
		name   string
		fork   func(cl *cluster)
		reason string
	}{
		{"app hash", func(cl *cluster) { cl.corruptApp = 1 }, "app hash fork at height"},
		{"results hash", func(cl *cluster) { cl.corruptResults = 1 }, "results hash fork at height"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t, 4, 7, func(c *Config) { c.Cut.TargetIntervalMs = 20 })
			tc.fork(cl)
			var halted []string
			cl.onHalt = func(i int, reason string) { halted = append(halted, fmt.Sprintf("node %d: %s", i, reason)) }
			cl.holdResults[1] = true
			for i := 0; i < cl.n; i++ {
				cl.step(i, Restart{})
			}
			for k := 0; k < 20_000 && len(cl.pending[1]) < lag; k++ {
				if cl.now.UnixMilli()%50 == 0 {
					cl.offerTxs(3)
				}
				cl.tick()
			}
			if len(cl.pending[1]) < lag {
				t.Fatalf("node 1's execution lags by %d heights only", len(cl.pending[1]))
			}
			if len(halted) > 0 {
				t.Fatalf("halted before executing anything: %v", halted)
			}
			firstHeld := cl.pending[1][0].Height
			cl.holdResults[1] = false
			for k := 0; k < 200 && len(halted) == 0; k++ {
				cl.tick()
			}
			want := fmt.Sprintf("node 1: %s %d:", tc.reason, firstHeld)
			if len(halted) != 1 || !strings.HasPrefix(halted[0], want) {
				t.Fatalf("halts %q, want one starting %q", halted, want)
			}
			t.Logf("lag %d heights: %s", lag, halted[0])
		})
	}
}
