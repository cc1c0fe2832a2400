package smt

import (
	"encoding/binary"
	"math/rand"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/util"
)

func memDB(t testing.TB) *leveldb.DB {
	db, err := leveldb.Open(storage.NewMemStorage(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func key(i int) Hash {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return KeyHash(b[:])
}

func value(i, v int) []byte { return []byte{byte(i), byte(i >> 8), byte(v), byte(v >> 8)} }

// commit stages kvs as version v, flushes and writes them.
func commit(t testing.TB, db *leveldb.DB, tr *Tree, v uint64, root NodeRef, kvs []KV) NodeRef {
	t.Helper()
	root, err := tr.Update(v, root, kvs)
	if err != nil {
		t.Fatal(err)
	}
	b := new(leveldb.Batch)
	tr.Flush(b, v)
	if err := db.Write(b, nil); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestTreeMatchesMapAndProves(t *testing.T) {
	db := memDB(t)
	tr := New(db, []byte("t/"), 64) // a tiny cache exercises reloads from the db
	rng := rand.New(rand.NewSource(1))
	model := map[Hash][]byte{}
	var root NodeRef
	for v := uint64(1); v <= 30; v++ {
		var kvs []KV
		seen := map[Hash]bool{}
		for j := 0; j < 1+rng.Intn(20); j++ {
			i := rng.Intn(200)
			if seen[key(i)] {
				continue
			}
			seen[key(i)] = true
			kv := KV{Key: key(i), Value: value(i, int(v))}
			kvs = append(kvs, kv)
			model[kv.Key] = kv.Value
		}
		root = commit(t, db, tr, v, root, kvs)
		for i := 0; i < 220; i++ {
			got, proof, err := tr.Get(root, key(i))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(model[key(i)]) {
				t.Fatalf("v%d key %d: got %x want %x", v, i, got, model[key(i)])
			}
			proven, err := Verify(root.Hash, key(i), proof)
			if err != nil {
				t.Fatalf("v%d key %d: proof rejected: %v", v, i, err)
			}
			if string(proven) != string(model[key(i)]) || (proven == nil) != (model[key(i)] == nil) {
				t.Fatalf("v%d key %d: proof shows %x, want %x", v, i, proven, model[key(i)])
			}
		}
	}
}

func TestRootIsIndependentOfHistory(t *testing.T) {
	var kvs []KV
	for i := 0; i < 500; i++ {
		kvs = append(kvs, KV{Key: key(i), Value: value(i, 0)})
	}
	db1, db2 := memDB(t), memDB(t)
	oneShot := commit(t, db1, New(db1, nil, 0), 1, NodeRef{}, kvs)
	tr2 := New(db2, nil, 0)
	var root NodeRef
	for v := 0; v < 10; v++ {
		root = commit(t, db2, tr2, uint64(v+1), root, kvs[v*50:(v+1)*50])
	}
	if oneShot.Hash != root.Hash {
		t.Fatal("same contents written in different batches give different roots")
	}
}

func TestTamperedProofFails(t *testing.T) {
	db := memDB(t)
	tr := New(db, nil, 0)
	var kvs []KV
	for i := 0; i < 100; i++ {
		kvs = append(kvs, KV{Key: key(i), Value: value(i, 1)})
	}
	root := commit(t, db, tr, 1, NodeRef{}, kvs)
	_, proof, err := tr.Get(root, key(7))
	if err != nil || proof.Leaf == nil {
		t.Fatal("no proof for a present key", err)
	}
	if _, err := Verify(root.Hash, key(7), proof); err != nil {
		t.Fatal(err)
	}
	forged := proof
	forged.Leaf = &KV{Key: proof.Leaf.Key, Value: value(7, 2)}
	if _, err := Verify(root.Hash, key(7), forged); err == nil {
		t.Fatal("proof with a changed value verified")
	}
	forged = Proof{Siblings: append([]Hash(nil), proof.Siblings...), Leaf: proof.Leaf}
	forged.Siblings[0][0] ^= 1
	if _, err := Verify(root.Hash, key(7), forged); err == nil {
		t.Fatal("proof with a changed sibling verified")
	}
	forged = Proof{Siblings: proof.Siblings} // claim absence
	if _, err := Verify(root.Hash, key(7), forged); err == nil {
		t.Fatal("absence of a present key verified")
	}
	if _, err := Verify(root.Hash, key(8), proof); err == nil {
		t.Fatal("proof for key 7 accepted as absence proof of key 8 off its path")
	}
}

func countNodes(db *leveldb.DB) int {
	it := db.NewIterator(util.BytesPrefix([]byte("n")), nil)
	defer it.Release()
	n := 0
	for it.Next() {
		n++
	}
	return n
}

func TestPruneKeepsRecentVersions(t *testing.T) {
	db := memDB(t)
	tr := New(db, nil, 0)
	const keep = 3
	var roots []NodeRef
	var root NodeRef
	for v := uint64(1); v <= 40; v++ {
		root, _ = tr.Update(v, root, []KV{{Key: key(int(v % 10)), Value: value(int(v), 0)}, {Key: key(100), Value: value(0, int(v))}})
		b := new(leveldb.Batch)
		tr.Flush(b, v)
		if v > keep {
			if _, err := tr.Prune(b, v-keep+1); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Write(b, nil); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
	}
	fresh := New(db, nil, 0) // no cache: every read goes to the db
	for v := 40 - keep + 1; v <= 40; v++ {
		r := roots[v-1]
		if err := fresh.Walk(r, func(Hash, []byte) error { return nil }); err != nil {
			t.Fatalf("retained version %d unreadable: %v", v, err)
		}
	}
	if err := fresh.Walk(roots[0], func(Hash, []byte) error { return nil }); err == nil {
		t.Fatal("version 1 still readable after pruning")
	}
	// 11 keys: one version is ~21 nodes; a few retained versions must not
	// grow without bound.
	if n := countNodes(db); n > 21+keep*2*8 {
		t.Fatalf("%d nodes stored after pruning, expected about %d", n, 21+keep*16)
	}
}
