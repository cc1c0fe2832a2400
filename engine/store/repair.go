package store

import (
	"bytes"
	"fmt"
	"path/filepath"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/tutti-bft/tutti/engine/wire"
)

// RepairReport says what Repair kept and removed.
type RepairReport struct {
	// RebuiltManifest: goleveldb's own metadata was damaged and was rebuilt from its
	// table files (leveldb.RecoverFile).
	RebuiltManifest bool
	// Base and Height bound the block store kept (0, 0 when none).
	Base, Height int64
	// DroppedFrom is the first height removed, with every height above it (0: none).
	DroppedFrom int64
	// DroppedRecords names the damaged records removed outside the block store (DAG
	// blocks, index entries, genesis, commit state).
	DroppedRecords []string
}

// Repair is the offline answer to Open refusing to start. It keeps the longest prefix of
// the block store whose every record is intact, from its lowest height up to the first
// gap or damaged record, deletes every height above that, and deletes any other record
// that fails its checksum. Dropped heights are re-derived from the DAG or fetched from
// peers when the node starts; an app that already executed them makes the handshake stop
// and say so, as it must. The store must not be open.
func Repair(dir string) (RepairReport, error) {
	var rep RepairReport
	path := filepath.Join(dir, DBName)
	db, err := leveldb.OpenFile(path, &opt.Options{ErrorIfMissing: true})
	if lerrors.IsCorrupted(err) {
		rep.RebuiltManifest = true
		db, err = leveldb.RecoverFile(path, nil)
	}
	if err != nil {
		return rep, fmt.Errorf("store: repair %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	defer db.Close()

	if rep.Base, rep.Height, err = s.intactPrefix(); err != nil {
		return rep, err
	}
	batch := new(leveldb.Batch)
	for _, p := range heightPrefixes {
		// Keep the validator sets of base-1: a replay from base needs them.
		it := db.NewIterator(&util.Range{Start: heightKey(p, rep.Height+1), Limit: prefixEnd(p)}, nil)
		for it.Next() {
			if h, ok := parseHeight(p, it.Key()); ok && (rep.DroppedFrom == 0 || h < rep.DroppedFrom) {
				rep.DroppedFrom = h
			}
			batch.Delete(append([]byte(nil), it.Key()...))
		}
		it.Release()
		if err := it.Error(); err != nil {
			return rep, fmt.Errorf("store: repair %s: %w", path, err)
		}
	}
	for _, prefix := range [][]byte{prefixDAG, prefixABCIHash, prefixTxHash, prefixTxEvent, prefixBlockEvent, keyGenesis, keyCommitState, keyIndexed} {
		if err := s.dropDamaged(prefix, batch, &rep); err != nil {
			return rep, err
		}
	}
	if err := db.Write(batch, syncWrite); err != nil {
		return rep, fmt.Errorf("store: repair %s: %w", path, err)
	}
	return rep, nil
}

// intactPrefix walks the block store from its lowest height and stops before the first
// height that is missing or has any record that does not decode.
func (s *Store) intactPrefix() (base, last int64, err error) {
	it := s.db.NewIterator(prefixRange(prefixABCIResult), nil)
	defer it.Release()
	for it.Next() {
		h, ok := parseHeight(prefixABCIResult, it.Key())
		if !ok || (last != 0 && h != last+1) {
			break
		}
		if complete, err := s.heightIntact(h); err != nil || !complete {
			break
		}
		if base == 0 {
			base = h
		}
		last = h
	}
	if err := it.Error(); err != nil && !lerrors.IsCorrupted(err) {
		return 0, 0, fmt.Errorf("store: repair %s: %w", s.path, err)
	}
	return base, last, nil
}

// heightIntact is heightComplete with every record decoded in full.
func (s *Store) heightIntact(h int64) (bool, error) {
	if ok, err := s.heightComplete(h); err != nil || !ok {
		return ok, err
	}
	_, _, err := s.ValidatorSets(h)
	return err == nil, err
}

// dropDamaged adds to batch the deletion of every record under prefix that fails its
// checksum or, for DAG blocks, does not decode to the block its key names.
func (s *Store) dropDamaged(prefix []byte, batch *leveldb.Batch, rep *RepairReport) error {
	it := s.db.NewIterator(prefixRange(prefix), nil)
	defer it.Release()
	limits := wire.DefaultLimits()
	for it.Next() {
		key := it.Key()
		payload, err := s.open(key, it.Value())
		if err == nil && bytes.HasPrefix(key, prefixDAG) {
			msg, derr := wire.Decode(payload, limits)
			if derr != nil || msg.Block == nil ||
				!bytes.Equal(dagKey(msg.Block.Epoch, msg.Block.Round, msg.Block.Author, msg.Block.Digest()), key) {
				err = fmt.Errorf("not the block its key names")
			}
		}
		if err == nil && bytes.HasPrefix(key, prefixTxHash) {
			err = s.guard(key, func() error { return new(abci.TxResult).Unmarshal(payload) })
		}
		if err != nil {
			rep.DroppedRecords = append(rep.DroppedRecords, describeKey(key))
			batch.Delete(append([]byte(nil), key...))
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("store: repair %s: %w", s.path, err)
	}
	return nil
}
