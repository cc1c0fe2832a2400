package state

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/tutti-bft/tutti/app/ledger/tx"
)

func benchAddr(i int) tx.Address {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return tx.AddressFromPubKey(b[:])
}

// BenchmarkAppHashUpdate measures what a block costs the authenticated
// store: stage 1,000 changed accounts (a block of 500 transfers) into the
// tree and commit them in one synced batch, on a store of n accounts built
// beforehand. n = 10k and 100k by default; set LEDGER_BENCH_ACCOUNTS (e.g.
// 1000000) to add a larger store.
func BenchmarkAppHashUpdate(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if extra, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_ACCOUNTS")); err == nil && extra > 0 {
		sizes = append(sizes, extra)
	}
	const changed = 1000
	for _, n := range sizes {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			s, err := Open(b.TempDir(), DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const buildBatch = 50_000
			h := int64(1)
			for start := 0; start < n; start += buildBatch {
				accounts := make(map[tx.Address]Account, buildBatch)
				for i := start; i < min(start+buildBatch, n); i++ {
					accounts[benchAddr(i)] = Account{Balance: 1000}
				}
				if _, err := s.Stage(h, accounts); err != nil {
					b.Fatal(err)
				}
				if err := s.Commit(); err != nil {
					b.Fatal(err)
				}
				h++
			}
			// Let leveldb finish compacting the bulk load, so the timed
			// blocks see a settled store rather than the build's backlog.
			if err := s.db.CompactRange(util.Range{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				changes := make(map[tx.Address]Account, changed)
				for j := 0; j < changed; j++ {
					changes[benchAddr((i*changed*7+j*7919)%n)] = Account{Balance: uint64(i), Nonce: uint64(i)}
				}
				b.StartTimer()
				if _, err := s.Stage(h, changes); err != nil {
					b.Fatal(err)
				}
				if err := s.Commit(); err != nil {
					b.Fatal(err)
				}
				h++
			}
		})
	}
}

// BenchmarkSnapshotCreate measures the synchronous snapshot a Commit takes
// every SnapshotInterval heights: walking the whole tree of 100k accounts
// and writing its chunks.
func BenchmarkSnapshotCreate(b *testing.B) {
	const n = 100_000
	s, err := Open(b.TempDir(), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	accounts := make(map[tx.Address]Account, n)
	for i := 0; i < n; i++ {
		accounts[benchAddr(i)] = Account{Balance: 1}
	}
	if _, err := s.Stage(1, accounts); err != nil {
		b.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.createSnapshot(1, s.root); err != nil {
			b.Fatal(err)
		}
	}
}
