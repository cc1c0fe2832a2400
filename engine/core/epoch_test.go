package core_test

import (
	"bytes"
	"fmt"
	. "github.com/tutti-bft/tutti/engine/core"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

// watchedSigner records every round a core asks it to sign, to prove rounds only go up.
type watchedSigner struct {
	*types.MemSigner
	rounds []uint64
}

func (w *watchedSigner) SignBlock(chainID string, round uint64, digest types.Digest) ([]byte, error) {
	w.rounds = append(w.rounds, round)
	return w.MemSigner.SignBlock(chainID, round, digest)
}

// newEpochCluster runs n nodes of which the first m form the genesis committee; the others
// follow the chain (self -1) until a validator update makes them members.
func newEpochCluster(t *testing.T, n, m int, seed uint64, mutate func(*Config)) (*cluster, []*watchedSigner, *types.Committee) {
	powers := make([]int64, n)
	for i := range powers {
		powers[i] = 1
	}
	all, signers := testCommittee(t, powers)
	com, err := types.NewCommittee(all.Validators[:m])
	if err != nil {
		t.Fatal(err)
	}
	cl := &cluster{t: t, n: n, signers: signers, now: time.UnixMilli(1_700_000_000_000),
		rng: rand.New(rand.NewPCG(seed, 7)), timers: make([]map[TimerKind]SetTimer, n),
		pending: make([][]ExecutionResult, n), resultAt: make([][]time.Time, n), execDelay: map[int]time.Duration{}, blocks: make([][]order.ABCIBlock, n),
		appHash: make([][]byte, n), crashed: map[int]bool{}, equiv: map[int]bool{}, corruptApp: -1,
		corruptResults: -1, holdResults: map[int]bool{}}
	cl.initSets(com.Validators)
	watched := make([]*watchedSigner, n)
	for i := 0; i < n; i++ {
		watched[i] = &watchedSigner{MemSigner: signers[i]}
		self := i
		if i >= m {
			self = -1
		}
		cfg := testConfig(com)
		if mutate != nil {
			mutate(&cfg)
		}
		c, err := New(cfg, self, watched[i], types.Ed25519Verifier{})
		if err != nil {
			t.Fatal(err)
		}
		cl.timers[i] = map[TimerKind]SetTimer{}
		cl.setCore(i, c, nil)
	}
	return cl, watched, com
}

// epochStarts returns, for one node's chain, the index of every block that starts an epoch
// after the first.
func epochStarts(t *testing.T, chain []order.ABCIBlock) []int {
	var starts []int
	for i := 1; i < len(chain); i++ {
		if chain[i].Epoch != chain[i-1].Epoch {
			if !chain[i-1].EndsEpoch || chain[i].Epoch != chain[i-1].Epoch+1 {
				t.Fatalf("height %d is in epoch %d after height %d in epoch %d (ends epoch: %v)", chain[i].Height,
					chain[i].Epoch, chain[i-1].Height, chain[i-1].Epoch, chain[i-1].EndsEpoch)
			}
			starts = append(starts, i)
		} else if chain[i-1].EndsEpoch {
			t.Fatalf("height %d ended its epoch but height %d is in the same one", chain[i-1].Height, chain[i].Height)
		}
	}
	return starts
}

// TestEpochChangeAtValidatorUpdates: 4 validators and a follower. The app adds the follower
// at height 3 and removes validator 3 at height 12. Each update ends the epoch at H+1 and
// the next height is ordered by the new committee (effective at H+2, as in CometBFT); all
// five nodes agree on every block; the added node proposes and the removed one stops; no
// signer is ever asked for a round at or below one it signed.
func TestEpochChangeAtValidatorUpdates(t *testing.T) {
	cl, watched, _ := newEpochCluster(t, 5, 4, 21, nil)
	newcomer, leaver := cl.signers[4].PubKey(), cl.signers[3].PubKey()
	cl.updates[3] = []ValidatorUpdate{{PubKey: newcomer, Power: 1}}
	cl.updates[12] = []ValidatorUpdate{{PubKey: leaver, Power: 0}}
	cl.run0(6 * time.Second)
	cl.checkAgreement(25)

	chain := cl.blocks[0]
	starts := epochStarts(t, chain)
	if len(starts) != 2 || chain[starts[0]].Height != 5 || chain[starts[1]].Height != 14 {
		var hs []int64
		for _, s := range starts {
			hs = append(hs, chain[s].Height)
		}
		t.Fatalf("epochs start at heights %v, want [5 14] (updates at 3 and 12 take effect at 5 and 14)", hs)
	}
	for _, s := range starts {
		first, last := chain[s], chain[s-1]
		if !bytes.Equal(first.LastBlockHash, last.Hash) || first.TimeMs <= last.TimeMs || first.FirstCommit != last.LastCommit+1 {
			t.Fatalf("height %d does not continue height %d", first.Height, last.Height)
		}
	}
	// The first block of an epoch lists the set of the height before it: the old one.
	if got := chain[starts[0]].DecidedLastCommit; len(got) != 4 {
		t.Fatalf("height 5 lists %d validators, want the 4 of height 4", len(got))
	}
	if got := chain[starts[0]+1].DecidedLastCommit; len(got) != 5 || !bytes.Equal(got[4].PubKey, newcomer) {
		t.Fatalf("height 6 lists %+v, want the 5 validators of height 5", got)
	}
	if got := chain[starts[1]].DecidedLastCommit; len(got) != 5 {
		t.Fatalf("height 14 lists %d validators, want the 5 of height 13", len(got))
	}
	for _, v := range chain[starts[1]+1].DecidedLastCommit {
		if bytes.Equal(v.PubKey, leaver) {
			t.Fatal("the removed validator is still listed after its removal took effect")
		}
	}
	for i, c := range cl.cores {
		if s := c.Stats(); s.Epoch != 3 || s.EpochChanges != 2 {
			t.Fatalf("node %d is in epoch %d after %d changes, want 3 after 2", i, s.Epoch, s.EpochChanges)
		}
	}
	if cl.cores[3].Self() != -1 || cl.cores[4].Self() != 3 {
		t.Fatalf("selves after the changes: leaver %d, newcomer %d", cl.cores[3].Self(), cl.cores[4].Self())
	}
	// The newcomer's blocks are ordered: it proposed as a member of epochs 2 and 3.
	ep := cl.cores[0].Epoch()
	if len(watched[4].rounds) < 10 {
		t.Fatalf("the newcomer signed only %d blocks", len(watched[4].rounds))
	}
	// The leaver signs nothing in epoch 3.
	for _, r := range watched[3].rounds {
		if r > ep.StartRound {
			t.Fatalf("the removed validator signed round %d of epoch 3 (genesis round %d)", r, ep.StartRound)
		}
	}
	for i, w := range watched {
		for k := 1; k < len(w.rounds); k++ {
			if w.rounds[k] <= w.rounds[k-1] {
				t.Fatalf("node %d asked to sign round %d after round %d", i, w.rounds[k], w.rounds[k-1])
			}
		}
	}
}

// TestRestoreAcrossEpochs restarts a node from its stored blocks of three epochs and its
// stored execution results, with a signer that lost its watermark: it rebuilds the same
// epochs and chain, never signs a round again, and goes on agreeing. Without the stored
// result of height 3 (whose next set is epoch 2's committee) the restore fails loudly.
func TestRestoreAcrossEpochs(t *testing.T) {
	cl, _, genesis := newEpochCluster(t, 5, 4, 22, nil)
	cl.updates[3] = []ValidatorUpdate{{PubKey: cl.signers[4].PubKey(), Power: 1}}
	cl.updates[7] = []ValidatorUpdate{{PubKey: cl.signers[0].PubKey(), Power: 2}}
	var stored []*types.Block
	seen := map[types.Ref]bool{}
	cl.observe = func(i int, a Action) {
		if p, ok := a.(Persist); ok && i == 2 {
			for _, b := range p.Blocks {
				if !seen[b.Ref()] {
					seen[b.Ref()] = true
					stored = append(stored, b)
				}
			}
		}
	}
	var results []ExecutionResult
	cl.run0(2 * time.Second)
	before := cl.cores[2].Stats()
	if before.Epoch != 3 {
		t.Fatalf("node 2 is in epoch %d, want 3", before.Epoch)
	}
	// The results the runtime stored: replay the app's sets over the delivered heights.
	sets := [2][]types.Validator{genesis.Validators, genesis.Validators}
	for _, b := range cl.blocks[2] {
		after := applyUpdates(sets[1], cl.updates[b.Height])
		sets = [2][]types.Validator{sets[1], after}
		results = append(results, ExecutionResult{Height: b.Height, NextValidators: after})
	}
	delivered := int64(len(cl.blocks[2]))
	fresh := &watchedSigner{MemSigner: types.NewMemSigner([]byte("validator-2"))}
	signedBefore := cl.cores[2].LastOwnRound()
	genesisCfg := testConfig(genesis)
	c, replayed, err := Restore(genesisCfg, 2, fresh, types.Ed25519Verifier{},
		State{Blocks: stored, LastDeliveredHeight: delivered, Results: results})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range replayed {
		if h, ok := a.(Halt); ok {
			t.Fatalf("restore halted: %s", h.Reason)
		}
	}
	if _, _, err := Restore(genesisCfg, 2, types.NewMemSigner([]byte("validator-2")), types.Ed25519Verifier{},
		State{Blocks: stored, LastDeliveredHeight: delivered, Results: results[4:]}); err == nil ||
		!strings.Contains(err.Error(), "lacks the result of height 3") {
		t.Fatalf("restore without the result that named epoch 2's committee: %v", err)
	}
	after := c.Stats()
	if after.Epoch != before.Epoch || after.Height != before.Height || after.Commits != before.Commits {
		t.Fatalf("restored epoch %d height %d commits %d, before %d, %d, %d", after.Epoch, after.Height, after.Commits,
			before.Epoch, before.Height, before.Commits)
	}
	if c.LastOwnRound() != cl.cores[2].LastOwnRound() {
		t.Fatalf("restored last own round %d, want %d", c.LastOwnRound(), cl.cores[2].LastOwnRound())
	}
	cl.signers[2] = fresh.MemSigner
	cl.setCore(2, c, replayed)
	cl.observe = nil
	cl.run0(2 * time.Second)
	cl.checkAgreement(delivered + 5)
	if len(fresh.rounds) == 0 || fresh.rounds[0] <= signedBefore {
		t.Fatalf("the restored node signed rounds %v, want all above %d", fresh.rounds, signedBefore)
	}
}

// TestValidatorSetForkHalts: a node whose own execution gives a set other than the one a
// quorum attested for the next epoch halts instead of building a different committee.
func TestValidatorSetForkHalts(t *testing.T) {
	cl, _, _ := newEpochCluster(t, 4, 4, 23, nil)
	cl.updates[3] = []ValidatorUpdate{{PubKey: cl.signers[0].PubKey(), Power: 2}}
	var halted []int
	cl.onHalt = func(i int, reason string) {
		if !strings.Contains(reason, "validator set fork") {
			t.Fatalf("node %d halted: %s", i, reason)
		}
		halted = append(halted, i)
	}
	// Node 1's app alone sees a different set at height 3 (its attestation is outvoted).
	orig := cl.observe
	cl.observe = func(i int, a Action) {
		if d, ok := a.(DeliverABCIBlock); ok && i == 1 && d.Block.Height == 3 {
			cl.sets[1][1] = applyUpdates(cl.sets[1][1], []ValidatorUpdate{{PubKey: cl.signers[1].PubKey(), Power: 3}})
		}
		if orig != nil {
			orig(i, a)
		}
	}
	cl.run0(2 * time.Second)
	if fmt.Sprint(halted) != "[1]" {
		t.Fatalf("halted nodes %v, want [1]", halted)
	}
	if s := cl.cores[0].Stats(); s.Epoch != 2 {
		t.Fatalf("the others are in epoch %d, want 2", s.Epoch)
	}
}

// TestLaggingNodeFinishesTheOldEpoch: validator 3 is cut off for 3 s while the others end
// epoch 1 and run on in epoch 2. Back, it re-sends its latest block of epoch 1; the others answer
// with their last blocks there, whose history it fetches to reach the closing commit, and
// it enters epoch 2 and agrees on every block.
func TestLaggingNodeFinishesTheOldEpoch(t *testing.T) {
	// The lag stays within the GC horizon: beyond it a node can only catch up by fetching
	// committed ABCI blocks, which is not the core's job.
	cl, _, _ := newEpochCluster(t, 4, 4, 24, func(c *Config) { c.GCDepth = 400 })
	cl.updates[4] = []ValidatorUpdate{{PubKey: cl.signers[0].PubKey(), Power: 2}}
	cl.run0(200 * time.Millisecond)
	if h := len(cl.blocks[3]); h < 1 || h >= 5 {
		t.Fatalf("node 3 delivered %d blocks before the cut-off, want 1 to 4", h)
	}
	cl.crashed[3] = true
	for end := cl.now.Add(3 * time.Second); cl.now.Before(end); {
		cl.tick()
	}
	t.Logf("heights at the return: node 0 %d, node 3 %d", len(cl.blocks[0]), len(cl.blocks[3]))
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
