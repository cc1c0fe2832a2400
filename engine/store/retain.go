package store

import (
	"fmt"

	"github.com/syndtr/goleveldb/leveldb"
)

// retainBatchHeights bounds one pruning batch of the block store.
const retainBatchHeights = 256

// Retain prunes the block store below retainHeight, honouring the retain_height the app's
// Commit returned: blocks, results and responses of lower heights are deleted, and
// validator sets below retainHeight-1 (ValidatorSets(retainHeight-1) stays answerable for
// a replay from there). The transaction index is kept, as CometBFT 0.38 keeps its own.
// Pruning goes lowest heights first in bounded batches, so a crash leaves a contiguous
// store. A retainHeight at or below Base is a no-op; one above Height is an error.
func (s *Store) Retain(retainHeight int64) (pruned int64, err error) {
	for {
		n, done, err := s.retainStep(retainHeight)
		pruned += n
		if err != nil || done {
			return pruned, err
		}
	}
}

func (s *Store) retainStep(retainHeight int64) (int64, bool, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	base, height := s.base.Load(), s.height.Load()
	if retainHeight > height {
		return 0, true, fmt.Errorf("store: retain height %d is above the last stored height %d", retainHeight, height)
	}
	if base == 0 || retainHeight <= base {
		return 0, true, nil
	}
	to := min(retainHeight, base+retainBatchHeights)
	batch := new(leveldb.Batch)
	for h := base; h < to; h++ {
		batch.Delete(heightKey(prefixABCIBlock, h))
		batch.Delete(heightKey(prefixABCIResult, h))
		batch.Delete(heightKey(prefixABCIResp, h))
		batch.Delete(heightKey(prefixABCIValSets, h-1))
	}
	if err := s.db.Write(batch, nil); err != nil {
		return 0, true, fmt.Errorf("store: prune heights %d..%d: %w", base, to-1, err)
	}
	s.base.Store(to)
	return to - base, to == retainHeight, nil
}
