package node

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/engine/store"
)

// A node with [tx_index] indexer = "null" commits and stores its heights but writes no
// index: its committed transaction is in its block and not found by hash.
func TestNullIndexerIndexesNothing(t *testing.T) {
	t.Parallel()
	cfgs := testHomes(t, 1, func(_ int, c *config.Config) { c.TxIndex.Indexer = "null" })
	n, _ := runTestNode(t, cfgs[0], &lockedBuffer{})
	waitFor(t, "height 1", func() (int64, bool) { return n.Height(), n.Height() >= 1 })
	tx := []byte("unindexed=1")
	if res, err := n.CheckTx(context.Background(), tx); err != nil || res.Code != abci.CodeTypeOK {
		t.Fatalf("CheckTx: %v %v", res, err)
	}
	height := waitFor(t, "the transaction committed", func() (int64, bool) {
		for h := int64(1); h <= n.Height(); h++ {
			b, err := n.store.Block(h)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range b.Txs {
				if string(x) == string(tx) {
					return h, true
				}
			}
		}
		return 0, false
	})
	hash := sha256.Sum256(tx)
	if r, err := n.store.TxByHash(hash[:]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("committed at height %d and found by hash with the indexer off: %v %v", height, r, err)
	}
}

// With indexer = "kv" the indexer goroutine indexes every executed height behind the
// executor: a committed transaction is found by hash, and the lag returns to 0.
func TestIndexerIndexesEveryExecutedHeight(t *testing.T) {
	t.Parallel()
	cfgs := testHomes(t, 1, nil)
	n, _ := runTestNode(t, cfgs[0], &lockedBuffer{})
	waitFor(t, "height 1", func() (int64, bool) { return n.Height(), n.Height() >= 1 })
	tx := []byte("indexed=1")
	if res, err := n.CheckTx(context.Background(), tx); err != nil || res.Code != abci.CodeTypeOK {
		t.Fatalf("CheckTx: %v %v", res, err)
	}
	hash := sha256.Sum256(tx)
	r := waitFor(t, "the transaction indexed", func() (*abci.TxResult, bool) {
		r, err := n.store.TxByHash(hash[:])
		return r, err == nil
	})
	if string(r.Tx) != string(tx) || r.Height < 1 {
		t.Fatalf("indexed %q at height %d", r.Tx, r.Height)
	}
	waitFor(t, "the index to hold every stored height", func() (int64, bool) {
		lag := n.store.IndexLag()
		return lag, lag == 0 && n.store.Indexed() >= r.Height
	})
}
