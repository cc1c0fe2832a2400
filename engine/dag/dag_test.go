package dag

import (
	"errors"
	"strings"
	"testing"

	"github.com/tutti-bft/tutti/engine/types"
)

func fourDAG(t *testing.T) *TextDAG {
	t.Helper()
	td, err := NewTextDAG([]int64{1, 1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	return td
}

func mustLines(t *testing.T, td *TextDAG, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := td.Line(l); err != nil {
			t.Fatal(err)
		}
	}
}

// signed builds a round-2 block by author 0 over round-1 blocks, lets mutate break it,
// then signs it (unless mutate set a signature).
func signed(td *TextDAG, mutate func(b *types.Block)) *types.Block {
	var parents []types.Ref
	for _, n := range []string{"A1", "B1", "C1", "D1"} {
		parents = append(parents, td.Block(n).Ref())
	}
	b := &types.Block{Epoch: 1, Round: 2, Author: 0, TimeMs: 5000, Parents: parents, Txs: [][]byte{[]byte("x")}}
	mutate(b)
	if b.Signature == nil {
		b.Signature = td.Signers[b.Author%len(td.Signers)].SignAnyway(types.SignBytes(td.ChainID, b.Round, b.Digest()))
	}
	return b
}

func TestValidationRejectsWithReason(t *testing.T) {
	cases := map[string]struct {
		mutate func(b *types.Block)
		reason string
	}{
		"wrong epoch":          {func(b *types.Block) { b.Epoch = 2 }, "epoch"},
		"unknown author":       {func(b *types.Block) { b.Author = 9 }, "not in committee"},
		"genesis round":        {func(b *types.Block) { b.Round = 0 }, "genesis round"},
		"no parents":           {func(b *types.Block) { b.Parents = nil }, "no parents"},
		"own block not first":  {func(b *types.Block) { b.Parents[0], b.Parents[1] = b.Parents[1], b.Parents[0] }, "own previous"},
		"too few parents":      {func(b *types.Block) { b.Parents = b.Parents[:2] }, "quorum"},
		"two parents one slot": {func(b *types.Block) { b.Parents[3] = b.Parents[2] }, "two parents"},
		"parent from future":   {func(b *types.Block) { b.Parents[1].Round = 2 }, "parent round"},
		"older than parent":    {func(b *types.Block) { b.TimeMs = 10 }, "before parent"},
		"bad signature":        {func(b *types.Block) { b.Signature = []byte("nope") }, "signature"},
		"signed by another": {func(b *types.Block) {
			b.Author = 1
			b.Parents[0], b.Parents[1] = b.Parents[1], b.Parents[0]
			b.Signature = nil
		}, "signature"},
		"empty tx":            {func(b *types.Block) { b.Txs = [][]byte{{}} }, "empty"},
		"foreign attestation": {func(b *types.Block) { b.Attestation = &types.Attestation{ChainID: "x", Height: 1} }, "attestation"},
		"bad evidence": {func(b *types.Block) {
			b.Evidence = []types.Equivocation{{Epoch: 1, Author: 1, DigestB: types.Digest{1}}}
		}, "evidence"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			td := fourDAG(t)
			mustLines(t, td, "round 1: *")
			b := signed(td, tc.mutate)
			if name == "signed by another" {
				// Signed with A's key but claiming to be B.
				b.Signature = td.Signers[0].SignAnyway(types.SignBytes(td.ChainID, b.Round, b.Digest()))
			}
			_, err := td.DAG.Add(b)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("got %v, want an invalid-block error mentioning %q", err, tc.reason)
			}
		})
	}
	td := fourDAG(t)
	mustLines(t, td, "round 1: *")
	if _, err := td.DAG.Add(signed(td, func(*types.Block) {})); err != nil {
		t.Fatalf("the unmodified block must be valid: %v", err)
	}
}

func TestSuspendsUntilParentsArrive(t *testing.T) {
	src := fourDAG(t)
	mustLines(t, src, "round 1: *", "round 2: *", "round 3: *")
	d := New(Config{ChainID: src.ChainID, Epoch: src.Epoch, Limits: types.DefaultBlockLimits(), Verifier: types.Ed25519Verifier{}})
	res, err := d.Add(src.Block("A3"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Accepted) != 0 || len(res.Missing) != 4 {
		t.Fatalf("A3 without round 2: accepted %d, missing %d; want 0 and 4", len(res.Accepted), len(res.Missing))
	}
	for _, n := range []string{"A1", "B1", "C1", "D1", "A2", "B2", "C2"} {
		if _, err := d.Add(src.Block(n)); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := d.Get(src.Block("A3").Ref()); ok {
		t.Fatal("A3 accepted while D2 is missing")
	}
	res, _ = d.Add(src.Block("D2"))
	if len(res.Accepted) != 2 || res.Accepted[1].Ref() != src.Block("A3").Ref() {
		t.Fatalf("D2 must release A3 after itself, got %d accepted", len(res.Accepted))
	}
	// Every accepted block's parents are accepted: the DAG is causally complete.
	for r := uint64(1); r <= d.HighestRound(); r++ {
		for _, b := range d.RoundBlocks(r) {
			for _, p := range b.Parents {
				if _, ok := d.Get(p); !ok {
					t.Fatalf("%v accepted without parent %v", b.Ref(), p)
				}
			}
		}
	}
}

func TestEquivocationIsKeptAsEvidence(t *testing.T) {
	td := fourDAG(t)
	mustLines(t, td, "round 1: *", "round 2: *")
	_, err := td.AddBlock(3, 2, []*types.Block{td.Block("A1"), td.Block("B1"), td.Block("C1")}, BlockOptions{Twin: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := td.DAG.SlotBlocks(types.Slot{Round: 2, Author: 3}); len(got) != 2 {
		t.Fatalf("slot holds %d blocks, want both", len(got))
	}
	// Re-adding to a fresh DAG shows the evidence produced on acceptance.
	d := New(Config{ChainID: td.ChainID, Epoch: td.Epoch, Limits: types.DefaultBlockLimits(), Verifier: types.Ed25519Verifier{}})
	var ev []types.Equivocation
	for _, b := range td.Blocks() {
		res, err := d.Add(b)
		if err != nil {
			t.Fatal(err)
		}
		ev = append(ev, res.Equivocations...)
	}
	if len(ev) != 1 || ev[0].Author != 3 || ev[0].Round != 2 {
		t.Fatalf("want one equivocation by D at round 2, got %+v", ev)
	}
	if err := ev[0].Verify(td.ChainID, td.Epoch.Committee, types.Ed25519Verifier{}); err != nil {
		t.Fatal(err)
	}
}

func TestGCKeepsMemoryBounded(t *testing.T) {
	td := fourDAG(t)
	const depth = 5
	maxHeld := 0
	for r := 1; r <= 300; r++ {
		mustLines(t, td, "round "+itoa(r)+": *")
		if r > depth {
			td.DAG.SetGCRound(uint64(r - depth))
		}
		if a, _ := td.DAG.Size(); a > maxHeld {
			maxHeld = a
		}
	}
	// depth rounds of 4 blocks stay (plus the newest round before its GC step).
	if maxHeld > 4*(depth+1) {
		t.Fatalf("held up to %d blocks after 300 rounds, want at most %d", maxHeld, 4*(depth+1))
	}
	old := td.Block("A10")
	if _, ok := td.DAG.Get(old.Ref()); ok {
		t.Fatal("a block below the GC round is still held")
	}
	if _, err := td.DAG.Add(old); !errors.Is(err, ErrNotNow) {
		t.Fatalf("re-adding an evicted block: %v, want ErrNotNow", err)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// TestSuspendedBlocksPerSlotAreBounded: an equivocator cannot make us hold unlimited
// blocks waiting for parents that do not exist.
func TestSuspendedBlocksPerSlotAreBounded(t *testing.T) {
	td := fourDAG(t)
	mustLines(t, td, "round 1: *")
	var errs []error
	for i := 0; i < 5; i++ {
		b := signed(td, func(b *types.Block) {
			b.Round = 3 // round-2 parents that nobody has
			b.Parents = []types.Ref{{Author: 0, Round: 2, Digest: types.Digest{byte(i)}}, {Author: 1, Round: 2}, {Author: 2, Round: 2}}
		})
		_, err := td.DAG.Add(b)
		errs = append(errs, err)
	}
	if _, s := td.DAG.Size(); s != 2 {
		t.Fatalf("%d blocks of one slot suspended, want 2", s)
	}
	if errs[1] != nil || !errors.Is(errs[2], ErrNotNow) {
		t.Fatalf("errors %v", errs)
	}
}
