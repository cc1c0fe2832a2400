package store

import (
	"testing"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/types"
)

func TestBlocksSurviveReopenAndPrune(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	var want []*types.Block
	for epoch := uint64(0); epoch < 2; epoch++ {
		for round := uint64(0); round < 4; round++ {
			for author := 0; author < 3; author++ {
				want = append(want, dagBlock(epoch, 10*epoch+round, author, author))
			}
		}
	}
	// Write in reverse so the store's ordering, not the write order, is checked.
	for i := len(want) - 1; i >= 0; i -= 3 {
		if err := s.SaveBlocks(want[i-2:i+1], i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Persist(core.Persist{Commit: &core.CommitState{LastCommitIndex: 7, LastHeight: 3}, Sync: true}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	got, err := s.Blocks()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d blocks, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Ref() != want[i].Ref() || got[i].Epoch != want[i].Epoch || len(got[i].Txs) != len(want[i].Txs) {
			t.Fatalf("block %d: got %v epoch %d, want %v epoch %d", i, got[i].Ref(), got[i].Epoch, want[i].Ref(), want[i].Epoch)
		}
	}
	cs, err := s.CommitState()
	if err != nil || cs == nil || *cs != (core.CommitState{LastCommitIndex: 7, LastHeight: 3}) {
		t.Fatalf("commit state %+v, %v", cs, err)
	}

	// Below epoch 1, round 12: all of epoch 0 and rounds 10, 11 of epoch 1.
	n, err := s.PruneBlocksBelow(1, 12)
	if err != nil || n != 12+6 {
		t.Fatalf("pruned %d, %v; want 18", n, err)
	}
	st, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Blocks) != 6 || st.Blocks[0].Epoch != 1 || st.Blocks[0].Round != 12 {
		t.Fatalf("after pruning: %d blocks, first %v", len(st.Blocks), st.Blocks[0].Ref())
	}
}

func TestCommitStateAbsentOnNewStore(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	cs, err := s.CommitState()
	if err != nil || cs != nil {
		t.Fatalf("new store commit state %+v, %v", cs, err)
	}
}
