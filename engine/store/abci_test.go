package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestExecutedSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	saved := saveHeights(t, s, 1, 4, rand.New(rand.NewSource(1)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	defer s.Close()
	if s.Height() != 4 || s.Base() != 1 {
		t.Fatalf("height %d base %d, want 4 and 1", s.Height(), s.Base())
	}
	for _, e := range saved {
		h := e.Block.Height
		b, res, err := s.Executed(h)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(b, e.Block) {
			t.Fatalf("height %d: block\n got %+v\nwant %+v", h, b, e.Block)
		}
		if !reflect.DeepEqual(res, e.Result) {
			t.Fatalf("height %d: result\n got %+v\nwant %+v", h, res, e.Result)
		}
		resp, err := s.Response(h)
		if err != nil {
			t.Fatal(err)
		}
		if !sameProto(t, resp, e.Response) {
			t.Fatalf("height %d: response differs", h)
		}
		next, after, err := s.ValidatorSets(h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(next.Hash(), e.NextValidators.Hash()) || !bytes.Equal(after.Hash(), e.AfterNextValidators.Hash()) {
			t.Fatalf("height %d: validator sets differ", h)
		}
		got, err := s.HeightByHash(e.Block.Hash)
		if err != nil || got != h {
			t.Fatalf("height by hash: %d, %v; want %d", got, err, h)
		}
	}
	if _, _, err := s.Executed(5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("height 5 not stored: got %v, want ErrNotFound", err)
	}
}

func TestSaveExecutedKeepsHeightsContiguous(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewSource(2))
	saveHeights(t, s, 1, 2, rng)
	for _, h := range []int64{2, 4} {
		if err := s.SaveExecuted(executedHeight(h, 1, 10, rng)); err == nil {
			t.Fatalf("height %d after 2 accepted", h)
		}
	}
	bad := executedHeight(3, 2, 10, rng)
	bad.Response.TxResults = bad.Response.TxResults[:1]
	if err := s.SaveExecuted(bad); err == nil {
		t.Fatal("height with fewer tx results than txs accepted")
	}
	if s.Height() != 2 {
		t.Fatalf("height %d after rejected writes, want 2", s.Height())
	}
}

func TestTxIndexByHashAndEvents(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	saved := saveHeights(t, s, 1, 3, rand.New(rand.NewSource(3)))
	e := saved[1]
	for i, tx := range e.Block.Txs {
		hash := sha256.Sum256(tx)
		r, err := s.TxByHash(hash[:])
		if err != nil {
			t.Fatal(err)
		}
		if r.Height != 2 || r.Index != uint32(i) || !bytes.Equal(r.Tx, tx) || !sameProto(t, &r.Result, e.Response.TxResults[i]) {
			t.Fatalf("tx %d: got height %d index %d", i, r.Height, r.Index)
		}
	}
	missing := sha256.Sum256([]byte("never sent"))
	if _, err := s.TxByHash(missing[:]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown tx: %v", err)
	}
	// Each height has 3 txs: senders acct0, acct1, acct2.
	hashes, err := s.TxHashesByEvent("transfer.sender", "acct1", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(hashes) != 3 {
		t.Fatalf("%d txs from acct1, want 3 (one per height)", len(hashes))
	}
	for i, hash := range hashes {
		want := sha256.Sum256(saved[i].Block.Txs[1])
		if !bytes.Equal(hash, want[:]) {
			t.Fatalf("hit %d is not height %d's tx 1", i, i+1)
		}
	}
	byHeight, err := s.TxHashesByEvent(TxHeightKey, "3", 100)
	if err != nil || len(byHeight) != 3 {
		t.Fatalf("tx.height=3: %d hits, %v", len(byHeight), err)
	}
	if got, _ := s.TxHashesByEvent("transfer.memo", "not indexed", 100); len(got) != 0 {
		t.Fatalf("an attribute with index=false was indexed: %d hits", len(got))
	}
	if got, _ := s.TxHashesByEvent("transfer.sender", "acct", 100); len(got) != 0 {
		t.Fatalf("a value prefix matched longer values: %d hits", len(got))
	}
	// FinalizeBlock's own event begin.h=<height>, and block.height.
	if got, err := s.HeightsByEvent("begin.h", "2", 10); err != nil || len(got) != 1 || got[0] != 2 {
		t.Fatalf("block event begin.h=2: %v, %v", got, err)
	}
	if got, err := s.HeightsByEvent(BlockHeightKey, "3", 10); err != nil || len(got) != 1 || got[0] != 3 {
		t.Fatalf("block.height=3: %v, %v", got, err)
	}
}

func TestGenesisStoredOnce(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, err := s.Genesis(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("genesis of a new store: %v", err)
	}
	if next, after, err := s.ValidatorSets(0); next != nil || after != nil || err != nil {
		t.Fatalf("sets before genesis: %v %v %v", next, after, err)
	}
	g := Genesis{AppHash: []byte("init"), Validators: testValidators(4)}
	if err := s.SaveGenesis(g); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveGenesis(g); err != nil {
		t.Fatalf("saving the same genesis again: %v", err)
	}
	if err := s.SaveGenesis(Genesis{AppHash: []byte("other"), Validators: g.Validators}); err == nil {
		t.Fatal("a different genesis replaced the stored one")
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	got, err := s.Genesis()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.AppHash, g.AppHash) || !bytes.Equal(got.Validators.Hash(), g.Validators.Hash()) {
		t.Fatal("genesis differs after reopen")
	}
	next, after, err := s.ValidatorSets(0)
	if err != nil || !bytes.Equal(next.Hash(), g.Validators.Hash()) || !bytes.Equal(after.Hash(), g.Validators.Hash()) {
		t.Fatalf("sets at height 0 are not the genesis set: %v", err)
	}
}

func TestRetainPrunesBelowRetainHeight(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	saved := saveHeights(t, s, 1, 10, rand.New(rand.NewSource(4)))
	if _, err := s.Retain(11); err == nil {
		t.Fatal("retain height above the store accepted")
	}
	n, err := s.Retain(6)
	if err != nil || n != 5 {
		t.Fatalf("retain 6 pruned %d, %v; want 5", n, err)
	}
	if n, _ := s.Retain(3); n != 0 {
		t.Fatalf("retain below base pruned %d", n)
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if s.Base() != 6 || s.Height() != 10 {
		t.Fatalf("after reopen base %d height %d, want 6 and 10", s.Base(), s.Height())
	}
	checkContiguous(t, s)
	if _, _, err := s.Executed(5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned height 5: %v", err)
	}
	if _, _, err := s.ValidatorSets(5); err != nil {
		t.Fatalf("sets after height 5 are needed to replay height 6: %v", err)
	}
	if _, _, err := s.ValidatorSets(4); !errors.Is(err, ErrNotFound) {
		t.Fatalf("sets after pruned height 4: %v", err)
	}
	hash := sha256.Sum256(saved[0].Block.Txs[0])
	if r, err := s.TxByHash(hash[:]); err != nil || r.Height != 1 {
		t.Fatalf("the tx index keeps pruned heights' txs: %v", err)
	}
}

// The RPC reads while the node writes: readers must always see complete heights.
func TestConcurrentReadersWithOneWriter(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewSource(5))
	const heights = 40
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				h := s.Height()
				if h == 0 {
					continue
				}
				b, res, err := s.Executed(h)
				if err == nil && (b.Height != h || res.Height != h) {
					err = errors.New("height mismatch")
				}
				if err == nil {
					_, err = s.Response(h)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for h := int64(1); h <= heights; h++ {
		if err := s.SaveExecuted(executedHeight(h, 5, 50, rng)); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("reader: %v", err)
	}
	if s.Height() != heights {
		t.Fatalf("height %d, want %d", s.Height(), heights)
	}
}

func TestSecondOpenOfOneDatabaseIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer s.Close()
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second open: %v", err)
	}
}

// With the index off ([tx_index] indexer = "null") a height is stored without one index
// record, and in fewer bytes; the height itself reads back whole.
func TestIndexOffWritesNoIndexRecords(t *testing.T) {
	bytesOf := func(s *Store) (index, all int) {
		it := s.db.NewIterator(nil, nil)
		defer it.Release()
		for it.Next() {
			n := len(it.Key()) + len(it.Value())
			all += n
			for _, p := range [][]byte{prefixTxHash, prefixTxEvent, prefixBlockEvent} {
				if bytes.HasPrefix(it.Key(), p) {
					index += n
				}
			}
		}
		return index, all
	}
	on := openTest(t, t.TempDir())
	defer on.Close()
	off := openTest(t, t.TempDir())
	defer off.Close()
	off.IndexOff()
	saveHeights(t, on, 1, 5, rand.New(rand.NewSource(9)))
	saved := saveHeights(t, off, 1, 5, rand.New(rand.NewSource(9)))
	indexOn, allOn := bytesOf(on)
	indexOff, allOff := bytesOf(off)
	t.Logf("5 heights: %d bytes with the index (%d of them index), %d without", allOn, indexOn, allOff)
	if indexOn == 0 || indexOff != 0 || allOff >= allOn {
		t.Fatalf("index records: %d bytes with it on, %d with it off (want 0); all: %d and %d", indexOn, indexOff, allOn, allOff)
	}
	hash := sha256.Sum256(saved[2].Block.Txs[0])
	if _, err := off.TxByHash(hash[:]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a tx found by hash with the index off: %v", err)
	}
	b, err := off.Block(3)
	if err != nil || len(b.Txs) != len(saved[2].Block.Txs) {
		t.Fatalf("height 3 with the index off: %v", err)
	}
}

// The index trails the stored heights and resumes where it stopped: a height is stored
// without its index records; IndexPending adds them in bounded steps and keeps its
// watermark across a reopen; a store without a watermark (written when every height was
// indexed in its own batch) counts as fully indexed.
func TestIndexTrailsTheStoreAndResumesAfterAReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	rng := rand.New(rand.NewSource(11))
	var saved []ExecutedHeight
	for h := int64(1); h <= 5; h++ {
		e := executedHeight(h, 3, 40, rng)
		if err := s.SaveExecuted(e); err != nil {
			t.Fatal(err)
		}
		saved = append(saved, e)
	}
	found := func(s *Store, h int64) bool {
		hash := sha256.Sum256(saved[h-1].Block.Txs[0])
		_, err := s.TxByHash(hash[:])
		return err == nil
	}
	if s.Indexed() != 0 || found(s, 1) {
		t.Fatalf("stored, not yet indexed: watermark %d, height 1 found %v", s.Indexed(), found(s, 1))
	}
	if n, err := s.IndexPending(2, nil); err != nil || n != 2 || s.Indexed() != 2 || !found(s, 2) || found(s, 3) {
		t.Fatalf("index 2 heights: %d, %v, watermark %d", n, err, s.Indexed())
	}
	s.Close()
	s = openTest(t, dir)
	if s.Indexed() != 2 {
		t.Fatalf("watermark after a reopen: %d, want 2", s.Indexed())
	}
	if n, err := s.IndexPending(100, nil); err != nil || n != 3 || !found(s, 5) {
		t.Fatalf("index the rest: %d, %v", n, err)
	}
	if n, _ := s.IndexPending(100, nil); n != 0 {
		t.Fatalf("a complete index indexed %d more heights", n)
	}
	if err := s.db.Delete(keyIndexed, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if s.Indexed() != 5 {
		t.Fatalf("a store without a watermark: %d, want all 5 heights", s.Indexed())
	}
}
