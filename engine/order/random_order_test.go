package order

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tutti-bft/tutti/engine/commit"
	"github.com/tutti-bft/tutti/engine/dag"
	"github.com/tutti-bft/tutti/engine/types"
)

// fullPipeline adds the ABCI cut to the ordering pipeline.
type fullPipeline struct {
	*pipeline
	cutter *Cutter
	blocks []ABCIBlock
}

func newFullPipeline(td *dag.TextDAG, d *dag.DAG) *fullPipeline {
	c := d.Committee()
	p := &pipeline{td: td, committer: commit.New(d, c, commit.NewSchedule(c, 0, 0, 0)),
		lin: NewLinearizer(LinearizerConfig{GCDepth: 6}, d)}
	cut := NewCutter(CutConfig{ChainID: td.ChainID, MaxBytes: 600, TargetIntervalMs: 1500,
		MaxEmptyIntervalMs: 4000}, c, td.Epoch.Number, td.Epoch.StartRound, td.Epoch.GenesisTimeMs)
	return &fullPipeline{pipeline: p, cutter: cut}
}

func (f *fullPipeline) run(t testing.TB, d *dag.DAG) {
	decisions, _, err := f.committer.TryDecide()
	if err != nil {
		t.Fatal(err)
	}
	for _, dc := range decisions {
		f.committer.Advance(dc.Slot)
		if dc.Kind == commit.Commit {
			f.blocks = append(f.blocks, f.cutter.Add(f.lin.Linearize(dc.Block))...)
		}
	}
	if gc := f.lin.GCRound(); gc > d.GCRound() {
		d.SetGCRound(gc)
		f.committer.Prune(gc)
	}
}

// randomDAG builds a DAG where every validator links a random quorum (or more) of the
// previous round, validators 5 and 6 (f = 2 of 7) equivocate, transactions repeat across
// authors, and each block attests the last ABCI block the reference pipeline delivered.
func randomDAG(t testing.TB, seed uint64, rounds uint64) (*dag.TextDAG, []ABCIBlock) {
	rng := rand.New(rand.NewPCG(seed, 1))
	td, err := dag.NewTextDAG([]int64{1, 1, 1, 1, 1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	n := 7
	equivocators := map[int]bool{5: true, 6: true}
	ref := newFullPipeline(td, td.DAG)
	prev := make([][]*types.Block, n) // per author, the versions of its previous-round block
	var evidence []types.Equivocation // twins seen last round, reported by validator 0
	for r := uint64(1); r <= rounds; r++ {
		cur := make([][]*types.Block, n)
		for a := 0; a < n; a++ {
			var cands []*types.Block
			for b := 0; b < n; b++ {
				if b == a {
					continue // AddBlock puts the author's own previous block first
				}
				if len(prev[b]) == 0 {
					if r == 1 {
						g, _ := td.DAG.Get(td.Block(dag.Letter(b) + "0").Ref())
						cands = append(cands, g)
					}
					continue
				}
				// An honest author saw one version of an equivocated slot, always the same.
				cands = append(cands, prev[b][(a+int(r))%len(prev[b])])
			}
			rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
			k := len(cands) // mostly every block; sometimes one missing
			if rng.IntN(3) == 0 {
				k--
			}
			if k > len(cands) {
				k = len(cands)
			}
			var att *types.Attestation
			if h := len(ref.blocks); h > 0 && rng.IntN(5) > 0 {
				last := ref.blocks[h-1]
				app := sha256.Sum256(last.Hash)
				att = &types.Attestation{ChainID: td.ChainID, Height: last.Height, BlockHash: last.Hash, AppHash: app[:],
					NextValidatorsHash: td.Epoch.Committee.Hash()}
			}
			var txs [][]byte
			for i := 0; i < rng.IntN(4); i++ {
				txs = append(txs, []byte(fmt.Sprintf("tx-%d", rng.IntN(200))))
			}
			parents := cands[:k]
			if len(prev[a]) == 0 && r > 1 {
				continue
			}
			opt := dag.BlockOptions{Txs: txs, Attestation: att}
			if a == 0 {
				opt.Evidence, evidence = evidence, nil
			}
			b, err := td.AddBlock(a, r, parents, opt)
			if err != nil {
				t.Fatalf("round %d author %d: %v", r, a, err)
			}
			cur[a] = append(cur[a], b)
			if equivocators[a] && rng.IntN(2) == 0 {
				twin, err := td.AddBlock(a, r, parents[:4], dag.BlockOptions{Twin: true, Txs: [][]byte{[]byte(fmt.Sprintf("twin-%d-%d", a, r))}})
				if err != nil {
					t.Fatalf("twin: %v", err)
				}
				cur[a] = append(cur[a], twin)
				evidence = append(evidence, types.NewEquivocation(b, twin))
			}
		}
		prev = cur
		ref.run(t, td.DAG)
	}
	return td, ref.blocks
}

func TestRandomDeliveryOrdersGiveSameABCIBlocks(t *testing.T) {
	td, want := randomDAG(t, 42, 60)
	if len(want) < 5 {
		t.Fatalf("reference delivered only %d ABCI blocks", len(want))
	}
	misbehavior := 0
	for _, b := range want {
		misbehavior += len(b.Misbehavior)
	}
	all := td.Blocks()
	for seed := uint64(0); seed < 100; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		order := append([]*types.Block(nil), all...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		d := dag.New(dag.Config{ChainID: td.ChainID, Epoch: td.Epoch, Limits: types.DefaultBlockLimits(), Verifier: trustAll{}})
		p := newFullPipeline(td, d)
		for i, b := range order {
			if _, err := d.Add(b); err != nil && !isNotNow(err) {
				t.Fatalf("order %d: add %v: %v", seed, b.Ref(), err)
			}
			if rng.IntN(20) == 0 || i == len(order)-1 {
				p.run(t, d)
			}
		}
		if len(p.blocks) != len(want) {
			t.Fatalf("order %d: %d ABCI blocks, want %d", seed, len(p.blocks), len(want))
		}
		for h := range want {
			if !bytes.Equal(p.blocks[h].Hash, want[h].Hash) {
				t.Fatalf("order %d: height %d hash differs", seed, h+1)
			}
		}
	}
	t.Logf("%d blocks, %d ABCI blocks, %d misbehavior reports, identical in 100 orders", len(all), len(want), misbehavior)
}

// trustAll skips signature checks in the 100 replays: the blocks were verified when the
// reference DAG accepted them, and 100 x verification would dominate the test's time.
type trustAll struct{}

func (trustAll) Verify(_, _, _ []byte) bool { return true }

func isNotNow(err error) bool { return errors.Is(err, dag.ErrNotNow) }
