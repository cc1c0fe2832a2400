package ledger

import (
	"fmt"
	"runtime"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// BenchmarkCheckTx admits fresh transfers (decode, signature, pending
// nonce and balance) one after another, as a mempool does.
func BenchmarkCheckTx(b *testing.B) {
	keys := testKeys(256)
	app := openApp(b, b.TempDir())
	initApp(b, app, keys, 1<<40)
	runBlock(b, app, 1, nil)
	raws := make([][]byte, b.N)
	for i := range raws {
		k := keys[i%len(keys)]
		raws[i] = transfer(b, k, keys[(i+1)%len(keys)].addr, 1, 0, uint64(i/len(keys)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raws[i]})
		if err != nil || resp.Code != 0 {
			b.Fatalf("tx %d: %v %s", i, err, resp.GetLog())
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkBlockExecution runs blocks of 2,000 transfers between disjoint
// pairs of 4,000 accounts through FinalizeBlock and Commit: sequential or
// parallel, with signatures already verified by CheckTx or verified in the
// block (batched).
func BenchmarkBlockExecution(b *testing.B) {
	const blockTxs = 2000
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		for _, cached := range []bool{true, false} {
			b.Run(fmt.Sprintf("workers=%d/sigs-cached=%v", workers, cached), func(b *testing.B) {
				keys := testKeys(2 * blockTxs)
				app := openApp(b, b.TempDir(), WithWorkers(workers), WithExecutionWorkers(workers))
				initApp(b, app, keys, 1<<40)
				runBlock(b, app, 1, nil)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					block := make([][]byte, blockTxs)
					for j := range block {
						block[j] = transfer(b, keys[2*j], keys[2*j+1].addr, 1, 1, uint64(i))
						if cached {
							app.sigs.add(tx.Hash(block[j]))
						}
					}
					b.StartTimer()
					resp := runBlock(b, app, int64(i+2), block)
					if resp.TxResults[blockTxs-1].Code != 0 {
						b.Fatal(resp.TxResults[blockTxs-1].Log)
					}
				}
				b.ReportMetric(float64(b.N*blockTxs)/b.Elapsed().Seconds(), "transfers/s")
			})
		}
	}
}

// BenchmarkExecuteTransfers isolates execution (nonce and balance rules on
// overlays over the committed store) from hashing and writing: 2,000
// transfers between disjoint pairs, in block order or by components.
func BenchmarkExecuteTransfers(b *testing.B) {
	const blockTxs = 2000
	keys := testKeys(2 * blockTxs)
	app := openApp(b, b.TempDir())
	initApp(b, app, keys, 1<<40)
	runBlock(b, app, 1, nil)
	raws := make([][]byte, blockTxs)
	for j := range raws {
		raws[j] = transfer(b, keys[2*j], keys[2*j+1].addr, 1, 1, 0)
	}
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				txs := decodeBlock(raws, testChain)
				b.StartTimer()
				var err error
				if workers == 1 {
					_, err = executeSequential(app.store.Staged(), txs)
				} else {
					_, err = executeParallel(app.store.Staged(), txs, workers)
				}
				if err != nil || txs[blockTxs-1].err != nil {
					b.Fatal(err, txs[blockTxs-1].err)
				}
			}
			b.ReportMetric(float64(b.N*blockTxs)/b.Elapsed().Seconds(), "transfers/s")
		})
	}
}
