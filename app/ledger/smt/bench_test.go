package smt

import (
	"fmt"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
)

// BenchmarkTreeUpdate measures the tree alone (in-memory goleveldb, no
// fsync): 1,000 changed keys on a tree of n keys, and how many nodes each
// changed key writes, which should grow like log2(n) (a plain sparse Merkle
// tree would write 256 per key).
func BenchmarkTreeUpdate(b *testing.B) {
	const changed = 1000
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			db := memDB(b)
			tr := New(db, nil, 0)
			kvs := make([]KV, n)
			for i := range kvs {
				kvs[i] = KV{Key: key(i), Value: value(i, 0)}
			}
			root := commit(b, db, tr, 1, NodeRef{}, kvs)
			nodes := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch := make([]KV, changed)
				for j := range batch {
					k := (i*changed*7 + j*7919) % n
					batch[j] = KV{Key: key(k), Value: value(k, i+1)}
				}
				var err error
				if root, err = tr.Update(uint64(i+2), root, batch); err != nil {
					b.Fatal(err)
				}
				nodes += tr.PendingNodes()
				wb := new(leveldb.Batch)
				tr.Flush(wb, uint64(i+2))
				if err := db.Write(wb, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(nodes)/float64(b.N*changed), "nodes/key")
		})
	}
}
