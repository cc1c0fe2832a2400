package store

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// BlocksToServe answers the core's ServeStored: the stored DAG blocks a peer catching up
// asked for, by ref or by range (core.ServeStored.Wants), oldest first, within the
// answer's limits. Blocks are decoded through the engine's one decoder and checked against
// their keys, as Blocks does.
func (s *Store) BlocksToServe(req core.ServeStored) ([]*types.Block, error) {
	if len(req.Refs) > 0 {
		return s.blocksByRef(req)
	}
	it := s.db.NewIterator(&util.Range{Start: dagBound(req.Epoch, req.FromRound), Limit: dagBound(req.Epoch+1, 0)}, nil)
	defer it.Release()
	var out []*types.Block
	bytes := 0
	for it.Next() {
		b, err := s.decodeBlock(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		if !req.Wants(b) {
			continue
		}
		if !req.Fits(len(out), bytes, b.PayloadBytes()) {
			break
		}
		out = append(out, b)
		bytes += b.PayloadBytes()
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("store: read DAG blocks of epoch %d: %w", req.Epoch, err)
	}
	return out, nil
}

// blocksByRef looks each ref up in req.Epoch, then in the epochs before it: a ref does not
// name its epoch, and a round belongs to one epoch only (rounds only grow across epochs).
func (s *Store) blocksByRef(req core.ServeStored) ([]*types.Block, error) {
	var out []*types.Block
	bytes := 0
	for _, r := range req.Refs {
		for e := int64(req.Epoch); e >= 0; e-- {
			key := dagKey(uint64(e), r.Round, r.Author, r.Digest)
			v, err := s.db.Get(key, nil)
			if err != nil {
				if errors.Is(err, leveldb.ErrNotFound) {
					continue
				}
				return nil, fmt.Errorf("store: read block %v: %w", r, err)
			}
			b, err := s.decodeBlock(key, v)
			if err != nil {
				return nil, err
			}
			if !req.Fits(len(out), bytes, b.PayloadBytes()) {
				return out, nil
			}
			out = append(out, b)
			bytes += b.PayloadBytes()
			break
		}
	}
	return out, nil
}

// decodeBlock opens one stored DAG record.
func (s *Store) decodeBlock(key, value []byte) (*types.Block, error) {
	payload, err := s.open(key, value)
	if err != nil {
		return nil, err
	}
	msg, err := wire.Decode(payload, wire.DefaultLimits())
	if err != nil || msg.Block == nil {
		return nil, s.corrupt(key, fmt.Sprintf("not a block: %v", err))
	}
	b := msg.Block
	if !bytes.Equal(dagKey(b.Epoch, b.Round, b.Author, b.Digest()), key) {
		return nil, s.corrupt(key, fmt.Sprintf("holds block %v of epoch %d", b.Ref(), b.Epoch))
	}
	return b, nil
}
