package store

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"

	"github.com/tutti-bft/tutti/engine/types"
)

// rawDB opens the store's database without the store, as a disk fault would see it.
func rawDB(t *testing.T, dir string) *leveldb.DB {
	t.Helper()
	db, err := leveldb.OpenFile(filepath.Join(dir, DBName), nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// flipByte damages one byte in the middle of a stored value, as bit rot would.
func flipByte(t *testing.T, db *leveldb.DB, key []byte) {
	t.Helper()
	v, err := db.Get(key, nil)
	if err != nil {
		t.Fatalf("%s: %v", describeKey(key), err)
	}
	v[len(v)/2] ^= 0x40
	if err := db.Put(key, v, nil); err != nil {
		t.Fatal(err)
	}
}

// newestJournal is the goleveldb journal (*.log) written last.
func newestJournal(t *testing.T, dir string) string {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(dir, DBName, "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no journal in %s: %v", dir, err)
	}
	sort.Strings(logs) // goleveldb numbers files with zero padding
	return logs[len(logs)-1]
}

// Jepsen's truncate nemesis on goleveldb's own journal: cut the newest *.log by a random
// number of bytes, reopen. The store must come back as a contiguous prefix of what was
// written (or refuse with a CorruptError), never panic, never show a gap, and accept the
// next height.
func TestTruncatedJournalRecoversToPrefix(t *testing.T) {
	const heights = 20
	lost, reported := 0, 0
	for seed := int64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewSource(seed))
		dir := t.TempDir()
		s := openTest(t, dir)
		saveHeights(t, s, 1, heights, rng)
		s.Close()

		journal := newestJournal(t, dir)
		info, err := os.Stat(journal)
		if err != nil {
			t.Fatal(err)
		}
		cut := 1 + rng.Int63n(info.Size())
		if err := os.Truncate(journal, info.Size()-cut); err != nil {
			t.Fatal(err)
		}

		s, err = Open(dir)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), DBName) {
				t.Fatalf("seed %d: refusal is not a CorruptError naming the database: %v", seed, err)
			}
			t.Logf("seed %d: cut %d of %d journal bytes, refused: %v", seed, cut, info.Size(), err)
			continue
		}
		if s.Height() > heights || (s.Height() > 0 && s.Base() != 1) {
			t.Fatalf("seed %d: heights %d..%d after truncation, want a prefix of 1..%d", seed, s.Base(), s.Height(), heights)
		}
		checkContiguous(t, s)
		if s.Height() < heights {
			lost++
		}
		if len(s.Recovered().JournalDrops) > 0 {
			reported++
		}
		t.Logf("seed %d: cut %d of %d journal bytes, recovered heights 1..%d, goleveldb: %v", seed, cut, info.Size(), s.Height(), s.Recovered().JournalDrops)
		next := s.Height() + 1
		if err := s.SaveExecuted(executedHeight(next, 2, 10, rng)); err != nil {
			t.Fatalf("seed %d: saving height %d after recovery: %v", seed, next, err)
		}
		s.Close()
	}
	if lost == 0 {
		t.Fatal("no truncation lost a height: the test did not reach the journal's data")
	}
	// A cut on a record boundary drops nothing, but most cut a record in two.
	if reported == 0 {
		t.Fatal("goleveldb's journal drops were never reported in Recovered")
	}
}

func TestFlippedByteIsReportedWithItsKey(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	saveHeights(t, s, 1, 6, rand.New(rand.NewSource(7)))
	if err := s.SaveBlocks([]*types.Block{dagBlock(0, 3, 1, 2)}, true); err != nil {
		t.Fatal(err)
	}
	s.Close()

	db := rawDB(t, dir)
	flipByte(t, db, heightKey(prefixABCIBlock, 4))
	b := dagBlock(0, 3, 1, 2)
	flipByte(t, db, dagKey(b.Epoch, b.Round, b.Author, b.Digest()))
	db.Close()

	s = openTest(t, dir) // a damaged middle block is found when read
	_, _, err := s.Executed(4)
	wantCorrupt(t, err, "abci/block/4")
	_, err = s.Blocks()
	wantCorrupt(t, err, "dag/epoch 0/round 3/author 1/")
	if _, _, err := s.Executed(5); err != nil {
		t.Fatalf("an intact height is unreadable: %v", err)
	}
	s.Close()

	db = rawDB(t, dir)
	flipByte(t, db, heightKey(prefixABCIResult, 2))
	db.Close()
	_, err = Open(dir) // results are checked at Open
	wantCorrupt(t, err, "abci/result/2")
}

func wantCorrupt(t *testing.T, err error, key string) {
	t.Helper()
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), DBName) {
		t.Fatalf("want a corruption error naming %q and the database, got %v", key, err)
	}
}

// A height missing one of its records is a torn write: Open drops it, and any record
// above the last complete height, and says so.
func TestTornLastHeightIsDropped(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	rng := rand.New(rand.NewSource(8))
	saveHeights(t, s, 1, 5, rng)
	s.Close()

	db := rawDB(t, dir)
	if err := db.Delete(heightKey(prefixABCIResp, 5), nil); err != nil {
		t.Fatal(err)
	}
	stray := heightKey(prefixABCIBlock, 7)
	if err := db.Put(stray, seal(stray, []byte("half a height")), nil); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = openTest(t, dir)
	if s.Height() != 4 {
		t.Fatalf("height %d after dropping torn height 5, want 4", s.Height())
	}
	if got := s.Recovered().DroppedHeights; len(got) != 2 || got[0] != 5 || got[1] != 7 {
		t.Fatalf("dropped %v, want [5 7]", got)
	}
	checkContiguous(t, s)
	if _, err := s.Block(7); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stray record above the last height survived: %v", err)
	}
	saveHeights(t, s, 5, 6, rng)
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if s.Height() != 6 || len(s.Recovered().DroppedHeights) != 0 {
		t.Fatalf("height %d dropped %v after a clean reopen", s.Height(), s.Recovered().DroppedHeights)
	}
}

// A missing height in the middle is not a torn tail: Open refuses and names the gap.
func TestGapRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	saveHeights(t, s, 1, 6, rand.New(rand.NewSource(9)))
	s.Close()
	db := rawDB(t, dir)
	if err := db.Delete(heightKey(prefixABCIResult, 3), nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open(dir)
	wantCorrupt(t, err, "abci heights 3..3")
	if !strings.Contains(err.Error(), "gap") {
		t.Fatalf("error does not say what is wrong: %v", err)
	}
}

// A damaged middle of the journal is worse than a torn tail: goleveldb (not strict) skips
// the damaged block and replays what follows, which would leave a gap. Open must refuse
// then, never show a store with a hole in it.
func TestCorruptJournalMiddleNeverShowsAGap(t *testing.T) {
	const heights = 40
	refused := 0
	for seed := int64(1); seed <= 4; seed++ {
		rng := rand.New(rand.NewSource(seed))
		dir := t.TempDir()
		s := openTest(t, dir)
		saveHeights(t, s, 1, heights, rng)
		s.Close()

		journal := newestJournal(t, dir)
		bz, err := os.ReadFile(journal)
		if err != nil {
			t.Fatal(err)
		}
		// Inside the first 32 KiB journal block, so later blocks still replay.
		at := 1000 + rng.Intn(30000)
		for i := at; i < at+64 && i < len(bz); i++ {
			bz[i] ^= 0xa5
		}
		if err := os.WriteFile(journal, bz, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err = Open(dir)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), DBName) {
				t.Fatalf("seed %d: refusal is not a CorruptError naming the database: %v", seed, err)
			}
			t.Logf("seed %d: refused: %v", seed, err)
			refused++
			continue
		}
		t.Logf("seed %d: heights %d..%d", seed, s.Base(), s.Height())
		checkContiguous(t, s)
		s.Close()
	}
	if refused == 0 {
		t.Fatal("no damaged journal was refused: the test never produced a gap")
	}
}
