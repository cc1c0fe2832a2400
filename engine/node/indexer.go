package node

import (
	"context"
	"fmt"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/engine/order"
)

// indexBatchHeights bounds the heights one index write covers: a node restarting with a
// long unindexed stretch (after running with indexer = "null") catches up in steps.
// indexHandoffHeights bounds the executed heights the executor keeps in memory for the
// indexer; an indexer further behind reads the rest back from the store.
const (
	indexBatchHeights   = 64
	indexHandoffHeights = 128
)

// indexHandoff passes executed heights from the executor to the indexer in memory:
// reading a height of 1,000 transactions back from the store costs the indexer more than
// indexing it (BenchmarkIndexPending).
type indexHandoff struct {
	mu      sync.Mutex
	heights map[int64]handedOff
}

type handedOff struct {
	block *order.ABCIBlock
	resp  *abci.ResponseFinalizeBlock
}

func (x *indexHandoff) put(b *order.ABCIBlock, resp *abci.ResponseFinalizeBlock) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.heights == nil {
		x.heights = map[int64]handedOff{}
	}
	delete(x.heights, b.Height-indexHandoffHeights) // the oldest: read back, if ever needed
	x.heights[b.Height] = handedOff{b, resp}
}

// take hands over height h and forgets it (nil, nil: not held).
func (x *indexHandoff) take(h int64) (*order.ABCIBlock, *abci.ResponseFinalizeBlock) {
	x.mu.Lock()
	defer x.mu.Unlock()
	e, ok := x.heights[h]
	if !ok {
		return nil, nil
	}
	delete(x.heights, h)
	return e.block, e.resp
}

// indexLoop builds the transaction and block event index behind the executor: woken after
// each stored height (and once at start, for what an earlier run left), it indexes every
// stored height the index lacks (store/indexer.go). The executor's synced write holds the
// height alone, so the app's Commit never waits for the index. It stops with Run; what is
// left is indexed at the next start.
func (n *Node) indexLoop(ctx context.Context) {
	for {
		for {
			indexed, err := n.store.IndexPending(indexBatchHeights, n.toIndex.take)
			if err != nil {
				n.fail(fmt.Errorf("index stored heights: %w", err))
				return
			}
			if indexed == 0 || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-n.indexed:
		}
	}
}
