package store

import (
	"errors"
	"fmt"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// SaveBlocks stores DAG blocks in one batch; with sync it returns only once they are on
// disk (the core asks for that before an own block is broadcast).
func (s *Store) SaveBlocks(blocks []*types.Block, sync bool) error {
	return s.Persist(core.Persist{Blocks: blocks, Sync: sync})
}

// Persist executes the core's Persist action: its blocks and commit state in one batch,
// fsynced when the action says so.
func (s *Store) Persist(p core.Persist) error {
	batch := new(sealedBatch)
	for _, b := range p.Blocks {
		bz, err := wire.Encode(wire.BlockMessage(b))
		if err != nil {
			return fmt.Errorf("store: encode block %v: %w", b.Ref(), err)
		}
		batch.put(dagKey(b.Epoch, b.Round, b.Author, b.Digest()), bz)
	}
	if c := p.Commit; c != nil {
		if err := batch.putMsg(keyCommitState, &CommitStateProto{LastCommitIndex: c.LastCommitIndex, LastHeight: c.LastHeight}); err != nil {
			return err
		}
	}
	if batch.Len() == 0 {
		return nil
	}
	// No store lock: goleveldb orders writes itself and merges concurrent ones (the
	// ordering loop's and the executor's) into one journal write.
	if err := s.db.Write(&batch.Batch, &opt.WriteOptions{Sync: p.Sync}); err != nil {
		return fmt.Errorf("store: write %d blocks: %w", len(p.Blocks), err)
	}
	return nil
}

// Blocks returns every stored DAG block, oldest slot first, each decoded by the engine's
// one size-limited decoder and checked to be the block its key names.
func (s *Store) Blocks() ([]*types.Block, error) {
	it := s.db.NewIterator(prefixRange(prefixDAG), nil)
	defer it.Release()
	var out []*types.Block
	for it.Next() {
		b, err := s.decodeBlock(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("store: read DAG blocks: %w", err)
	}
	return out, nil
}

// pruneBatchKeys bounds one pruning batch, so pruning a long history neither holds the
// write lock nor builds a batch for long; each batch leaves a consistent store.
const pruneBatchKeys = 1024

// PruneBlocksBelow deletes the DAG blocks of every slot before (epoch, round): those of
// earlier epochs and those of lower rounds in this epoch. It returns how many it deleted.
func (s *Store) PruneBlocksBelow(epoch, round uint64) (int, error) {
	limit := dagBound(epoch, round)
	deleted := 0
	for {
		n, err := s.deleteRange(prefixDAG, limit, pruneBatchKeys)
		deleted += n
		if err != nil || n < pruneBatchKeys {
			return deleted, err
		}
	}
}

// deleteRange deletes up to max keys in [start, limit) in one batch.
func (s *Store) deleteRange(start, limit []byte, max int) (int, error) {
	it := s.db.NewIterator(&util.Range{Start: start, Limit: limit}, nil)
	batch := new(leveldb.Batch)
	for batch.Len() < max && it.Next() {
		batch.Delete(append([]byte(nil), it.Key()...))
	}
	it.Release()
	if err := it.Error(); err != nil {
		return 0, fmt.Errorf("store: scan for pruning: %w", err)
	}
	if batch.Len() == 0 {
		return 0, nil
	}
	if err := s.db.Write(batch, nil); err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	return batch.Len(), nil
}

// CommitState returns the ordering progress last persisted, or nil when none was.
func (s *Store) CommitState() (*core.CommitState, error) {
	var p CommitStateProto
	if err := s.get(keyCommitState, &p); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return &core.CommitState{LastCommitIndex: p.LastCommitIndex, LastHeight: p.LastHeight}, nil
}

// State is what core.Restore needs. LastDeliveredHeight is the last height stored as
// executed, not the last handed to the executor: a height delivered but not yet executed
// when the node stopped must be delivered again, or it would be lost.
func (s *Store) State() (core.State, error) {
	blocks, err := s.Blocks()
	if err != nil {
		return core.State{}, err
	}
	return core.State{Blocks: blocks, LastDeliveredHeight: s.Height()}, nil
}
