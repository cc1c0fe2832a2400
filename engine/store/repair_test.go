package store

import (
	"errors"
	"math/rand"
	"strings"
	"testing"

	"github.com/tutti-bft/tutti/engine/types"
)

// Open refuses a store with a gap; Repair keeps the intact prefix, removes what is above
// it and any damaged record elsewhere, and the node can then go on from there.
func TestRepairKeepsTheIntactPrefix(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	rng := rand.New(rand.NewSource(10))
	saveHeights(t, s, 1, 8, rng)
	good, bad := dagBlock(0, 1, 0, 1), dagBlock(0, 2, 0, 1)
	if err := s.SaveBlocks([]*types.Block{good, bad}, true); err != nil {
		t.Fatal(err)
	}
	s.Close()

	db := rawDB(t, dir)
	if err := db.Delete(heightKey(prefixABCIResult, 6), nil); err != nil { // a gap at 6
		t.Fatal(err)
	}
	flipByte(t, db, heightKey(prefixABCIBlock, 4)) // and a damaged record below it
	flipByte(t, db, dagKey(bad.Epoch, bad.Round, bad.Author, bad.Digest()))
	db.Close()
	if _, err := Open(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open of a store with a gap: %v", err)
	}

	rep, err := Repair(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Base != 1 || rep.Height != 3 || rep.DroppedFrom != 4 {
		t.Fatalf("repair kept %d..%d and dropped from %d; want 1..3, from 4", rep.Base, rep.Height, rep.DroppedFrom)
	}
	if len(rep.DroppedRecords) != 1 || !strings.HasPrefix(rep.DroppedRecords[0], "dag/epoch 0/round 2/") {
		t.Fatalf("dropped records %v, want the damaged DAG block", rep.DroppedRecords)
	}

	s = openTest(t, dir)
	defer s.Close()
	if s.Base() != 1 || s.Height() != 3 {
		t.Fatalf("after repair heights %d..%d", s.Base(), s.Height())
	}
	checkContiguous(t, s)
	blocks, err := s.Blocks()
	if err != nil || len(blocks) != 1 || blocks[0].Ref() != good.Ref() {
		t.Fatalf("blocks after repair: %d, %v", len(blocks), err)
	}
	saveHeights(t, s, 4, 5, rng)
}
