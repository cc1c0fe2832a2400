package store

import (
	"math/rand"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

// BenchmarkSaveExecuted: one height of 1,000 txs of 100 bytes (its index is written
// later, BenchmarkIndexPending), synced (as the node writes it) and, for the cost of the
// work without the fsync, unsynced.
func BenchmarkSaveExecuted(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "sync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			s := openTest(b, b.TempDir())
			defer s.Close()
			tmpl := executedHeight(1, 1000, 100, rand.New(rand.NewSource(1)))
			opts := syncWrite
			if !sync {
				opts = nil
			}
			b.ReportAllocs()
			b.SetBytes(1000 * 100)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e := tmpl
				blk := *tmpl.Block
				blk.Height = int64(i + 1)
				e.Block, e.Result.Height = &blk, blk.Height
				if err := s.saveExecuted(e, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIndexPending: the index of one stored height of 1,000 txs of 100 bytes (by
// hash, tx.height and one indexed attribute per tx), as the node's indexer writes it,
// unsynced, behind the executor, with the height in memory (as the executor hands it over)
// and read back from the store (catching up after a restart).
func BenchmarkIndexPending(b *testing.B) {
	for _, inMemory := range []bool{true, false} {
		name := "in-memory"
		if !inMemory {
			name = "read-back"
		}
		b.Run(name, func(b *testing.B) { benchmarkIndexPending(b, inMemory) })
	}
}

func benchmarkIndexPending(b *testing.B, inMemory bool) {
	s := openTest(b, b.TempDir())
	defer s.Close()
	tmpl := executedHeight(1, 1000, 100, rand.New(rand.NewSource(1)))
	b.ReportAllocs()
	b.SetBytes(1000 * 100)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := tmpl
		blk := *tmpl.Block
		blk.Height = int64(i + 1)
		e.Block, e.Result.Height = &blk, blk.Height
		if err := s.saveExecuted(e, nil); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var from Recent
		if inMemory {
			from = recent(e)
		}
		if n, err := s.IndexPending(1, from); err != nil || n != 1 {
			b.Fatalf("indexed %d: %v", n, err)
		}
	}
}

// recent hands IndexPending e from memory, as the node's executor does.
func recent(e ExecutedHeight) Recent {
	return func(h int64) (*order.ABCIBlock, *abci.ResponseFinalizeBlock) {
		if h != e.Block.Height {
			return nil, nil
		}
		return e.Block, e.Response
	}
}

// BenchmarkSaveBlocks: one DAG block of 1,000 txs of 100 bytes, synced as an own block is.
func BenchmarkSaveBlocks(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "sync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			s := openTest(b, b.TempDir())
			defer s.Close()
			rng := rand.New(rand.NewSource(2))
			blk := dagBlock(0, 1, 0, 0)
			for i := 0; i < 1000; i++ {
				tx := make([]byte, 100)
				rng.Read(tx)
				blk.Txs = append(blk.Txs, tx)
			}
			// The core persists blocks whose digest it already computed.
			blocks := make([]*types.Block, b.N)
			for i := range blocks {
				blocks[i] = types.CopyForDecode(blk)
				blocks[i].Round = uint64(i + 1)
				blocks[i].Digest()
			}
			b.ReportAllocs()
			b.SetBytes(1000 * 100)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.SaveBlocks(blocks[i:i+1], sync); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen: Open's consistency check over a block store of 5,000 heights (it reads
// every result record, about 200 bytes each).
func BenchmarkOpen(b *testing.B) {
	const heights = 5000
	dir := b.TempDir()
	s := openTest(b, dir)
	rng := rand.New(rand.NewSource(3))
	for h := int64(1); h <= heights; h++ {
		if err := s.saveExecuted(executedHeight(h, 1, 100, rng), nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		if s.Height() != heights {
			b.Fatalf("height %d", s.Height())
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
