package store

import (
	"errors"
	"fmt"
	"sort"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// checkABCI is Open's consistency check of the block store. Results are the spine: every
// stored height has one, so they must run base..last with no gap and each must be intact.
// Records above last (a height whose result is missing) and an incomplete last height are
// torn writes: they are dropped, synced, and reported in Recovered. A gap or a damaged
// record is not a torn tail: it refuses, naming the key.
func (s *Store) checkABCI() error {
	base, last, err := s.scanResults()
	if err != nil {
		return err
	}
	batch := new(leveldb.Batch)
	dropped := map[int64]bool{}
	for _, p := range heightPrefixes {
		it := s.db.NewIterator(&util.Range{Start: heightKey(p, last+1), Limit: prefixEnd(p)}, nil)
		for it.Next() {
			h, ok := parseHeight(p, it.Key())
			if !ok {
				it.Release()
				return s.corrupt(it.Key(), "malformed key in the block store")
			}
			dropped[h] = true
			batch.Delete(append([]byte(nil), it.Key()...))
		}
		it.Release()
		if err := it.Error(); err != nil {
			return fmt.Errorf("store: scan %s: %w", s.path, err)
		}
	}
	for last > 0 {
		complete, err := s.heightComplete(last)
		if err != nil {
			return err
		}
		if complete {
			break
		}
		for _, p := range heightPrefixes {
			batch.Delete(heightKey(p, last))
		}
		dropped[last] = true
		if last--; last < base {
			base, last = 0, 0
		}
	}
	if batch.Len() > 0 {
		if err := s.db.Write(batch, syncWrite); err != nil {
			return fmt.Errorf("store: drop incomplete heights from %s: %w", s.path, err)
		}
	}
	for h := range dropped {
		s.recovery.DroppedHeights = append(s.recovery.DroppedHeights, h)
	}
	sort.Slice(s.recovery.DroppedHeights, func(i, j int) bool { return s.recovery.DroppedHeights[i] < s.recovery.DroppedHeights[j] })
	s.base.Store(base)
	s.height.Store(last)
	return nil
}

// scanResults walks every stored result, checking each and that heights are contiguous.
func (s *Store) scanResults() (base, last int64, err error) {
	it := s.db.NewIterator(prefixRange(prefixABCIResult), nil)
	defer it.Release()
	for it.Next() {
		key := it.Key()
		h, ok := parseHeight(prefixABCIResult, key)
		if !ok {
			return 0, 0, s.corrupt(key, "malformed key in the block store")
		}
		if last != 0 && h != last+1 {
			return 0, 0, &CorruptError{File: s.path, Key: fmt.Sprintf("abci heights %d..%d", last+1, h-1),
				Reason: fmt.Sprintf("missing between stored heights %d and %d: the block store has a gap", last, h)}
		}
		var rp ResultProto
		if err := s.decode(key, it.Value(), &rp); err != nil {
			return 0, 0, err
		}
		if rp.Height != h {
			return 0, 0, s.corrupt(key, fmt.Sprintf("holds the result of height %d", rp.Height))
		}
		if base == 0 {
			base = h
		}
		last = h
	}
	if err := it.Error(); err != nil {
		return 0, 0, fmt.Errorf("store: scan %s: %w", s.path, err)
	}
	return base, last, nil
}

// heightComplete reports whether all of h's records are present; a present but damaged
// one is an error.
func (s *Store) heightComplete(h int64) (bool, error) {
	var (
		block ABCIBlockProto
		resp  abci.ResponseFinalizeBlock
		sets  ValidatorSetsProto
		res   ResultProto
	)
	for _, r := range []struct {
		prefix []byte
		into   unmarshaler
	}{{prefixABCIBlock, &block}, {prefixABCIResp, &resp}, {prefixABCIValSets, &sets}, {prefixABCIResult, &res}} {
		if err := s.get(heightKey(r.prefix, h), r.into); err != nil {
			if errors.Is(err, ErrNotFound) {
				return false, nil
			}
			return false, err
		}
	}
	if block.Height != h {
		return false, s.corrupt(heightKey(prefixABCIBlock, h), fmt.Sprintf("holds height %d", block.Height))
	}
	return true, nil
}
