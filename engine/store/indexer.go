package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/engine/order"
)

// The transaction and block event index is built after a height is stored, not inside its
// synced batch: the batch the app's Commit waits for holds only the height itself (the
// index was a third of its bytes and most of its records), and IndexPending indexes the
// stored heights the index lacks, in unsynced batches, on the node's indexer goroutine.
// keyIndexed records the last height indexed, in the same batch as that height's
// records, so after a crash the index resumes at the first height it lacks; records
// written twice are the same records. This is CometBFT's arrangement too: its indexer
// service indexes each height from its events, after the block is stored.

var keyIndexed = []byte("index/height") // height(8): the last height the index holds

// loadIndexed reads the index's watermark at Open. A store without one was written before
// the watermark existed, when every height was indexed in its own batch, or is new: either
// way it holds the index of every stored height, and the watermark says so from now on
// (written at once, so that heights stored later are never taken for indexed).
func (s *Store) loadIndexed() error {
	payload, err := s.getPayload(keyIndexed)
	switch {
	case errors.Is(err, ErrNotFound):
		h := s.height.Load()
		batch := new(sealedBatch)
		batch.put(keyIndexed, heightValue(h))
		if err := s.db.Write(&batch.Batch, syncWrite); err != nil {
			return fmt.Errorf("store: write the index watermark: %w", err)
		}
		s.indexed.Store(h)
		return nil
	case err != nil:
		return err
	}
	if len(payload) != 8 || int64(binary.BigEndian.Uint64(payload)) < 0 {
		return s.corrupt(keyIndexed, "not a height")
	}
	h := int64(binary.BigEndian.Uint64(payload))
	// Heights above the store's last one were dropped by a repair: index them again when
	// they are stored again.
	s.indexed.Store(min(h, s.height.Load()))
	return nil
}

// Indexed is the last height the index holds; heights above it up to Height are stored
// and not yet searchable.
func (s *Store) Indexed() int64 { return s.indexed.Load() }

// IndexLag is how many stored heights the index lacks (0 with the index off).
func (s *Store) IndexLag() int64 {
	if s.noIndex.Load() {
		return 0
	}
	return max(s.height.Load()-s.indexed.Load(), 0)
}

// Recent hands IndexPending a stored height's block and FinalizeBlock response from memory
// (the executor's own copy), or nil, nil when it no longer has them: they are then read
// back from the store, which costs more than indexing them.
type Recent func(h int64) (*order.ABCIBlock, *abci.ResponseFinalizeBlock)

// IndexPending indexes up to limit stored heights above Indexed in one batch and reports
// how many it indexed (0: the index is complete, or off). recent may be nil.
func (s *Store) IndexPending(limit int, recent Recent) (int, error) {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.noIndex.Load() {
		return 0, nil
	}
	from := max(s.indexed.Load()+1, s.base.Load())
	to := min(s.height.Load(), from+int64(limit)-1)
	if from > to {
		return 0, nil
	}
	batch := new(sealedBatch)
	for h := from; h <= to; h++ {
		var b *order.ABCIBlock
		var resp *abci.ResponseFinalizeBlock
		if recent != nil {
			b, resp = recent(h)
		}
		if b == nil || resp == nil || b.Height != h {
			var err error
			if b, err = s.Block(h); err != nil {
				return 0, fmt.Errorf("store: index height %d: %w", h, err)
			}
			if resp, err = s.Response(h); err != nil {
				return 0, fmt.Errorf("store: index height %d: %w", h, err)
			}
		}
		if len(resp.TxResults) != len(b.Txs) {
			return 0, s.corrupt(heightKey(prefixABCIResp, h), fmt.Sprintf("holds %d tx results for %d txs", len(resp.TxResults), len(b.Txs)))
		}
		if err := indexTxs(batch, h, b.Txs, resp.TxResults); err != nil {
			return 0, err
		}
		indexBlockEvents(batch, h, resp.Events)
	}
	batch.put(keyIndexed, heightValue(to))
	if err := s.db.Write(&batch.Batch, nil); err != nil {
		return 0, fmt.Errorf("store: write the index of heights %d..%d: %w", from, to, err)
	}
	s.indexed.Store(to)
	return int(to - from + 1), nil
}
