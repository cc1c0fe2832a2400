package smt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// Updates of at least parallelMinKeys keys on each side of a node within the
// top parallelDepth levels split across goroutines (up to 2^parallelDepth).
const (
	parallelDepth   = 2
	parallelMinKeys = 128
)

// KV is one key to write: Key is the 256-bit path (see KeyHash), Value the leaf content.
type KV struct {
	Key   Hash
	Value []byte
}

// Tree reads nodes from goleveldb and stages the nodes of the next version in
// memory until Flush puts them into the caller's batch. It is safe for
// concurrent readers; updates must not run concurrently with each other.
type Tree struct {
	db     *leveldb.DB
	prefix []byte

	cacheMu  sync.Mutex
	cache    map[NodeRef]*node
	maxCache int

	pendingMu sync.Mutex
	dirty     map[NodeRef]*node
	stale     []NodeRef
}

// DefaultCacheNodes bounds the decoded-node cache (about 150 bytes a node):
// enough for the upper levels of a 1M-account tree and every node of 500k.
const DefaultCacheNodes = 1 << 20

// New opens a tree stored in db under keys starting with prefix.
func New(db *leveldb.DB, prefix []byte, cacheNodes int) *Tree {
	if cacheNodes <= 0 {
		cacheNodes = DefaultCacheNodes
	}
	return &Tree{
		db: db, prefix: append([]byte(nil), prefix...),
		cache: make(map[NodeRef]*node), maxCache: cacheNodes,
		dirty: make(map[NodeRef]*node),
	}
}

func (t *Tree) nodeKey(r NodeRef) []byte {
	k := append(append([]byte(nil), t.prefix...), 'n')
	return appendRef(k, r)
}

func (t *Tree) staleKey(since uint64, r NodeRef) []byte {
	k := append(append([]byte(nil), t.prefix...), 's')
	k = binary.BigEndian.AppendUint64(k, since)
	return appendRef(k, r)
}

func (t *Tree) load(r NodeRef) (*node, error) {
	t.pendingMu.Lock()
	n, ok := t.dirty[r]
	t.pendingMu.Unlock()
	if ok {
		return n, nil
	}
	t.cacheMu.Lock()
	n, ok = t.cache[r]
	t.cacheMu.Unlock()
	if ok {
		return n, nil
	}
	raw, err := t.db.Get(t.nodeKey(r), nil)
	if err != nil {
		return nil, fmt.Errorf("smt: node %d/%x: %w", r.Version, r.Hash[:6], err)
	}
	n, err = decodeNode(raw)
	if err != nil {
		return nil, err
	}
	if n.hash() != r.Hash {
		return nil, fmt.Errorf("smt: node %d/%x does not match its hash", r.Version, r.Hash[:6])
	}
	t.remember(r, n)
	return n, nil
}

func (t *Tree) remember(r NodeRef, n *node) {
	t.cacheMu.Lock()
	defer t.cacheMu.Unlock()
	if len(t.cache) >= t.maxCache {
		// Drop an arbitrary eighth: cheaper than LRU bookkeeping on every read,
		// and the upper levels, read on every path, come right back.
		drop := t.maxCache / 8
		for k := range t.cache {
			delete(t.cache, k)
			if drop--; drop <= 0 {
				break
			}
		}
	}
	t.cache[r] = n
}

// Update writes kvs (any order, distinct keys) on top of the version rooted at
// root and returns the root of the new version. New nodes stay pending until
// Flush or Discard.
func (t *Tree) Update(version uint64, root NodeRef, kvs []KV) (NodeRef, error) {
	if len(kvs) == 0 {
		return root, nil
	}
	sorted := append([]KV(nil), kvs...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i].Key[:], sorted[j].Key[:]) < 0 })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Key == sorted[i-1].Key {
			return root, fmt.Errorf("smt: key %x written twice in one update", sorted[i].Key[:6])
		}
	}
	return t.update(version, root, 0, sorted)
}

// splitAt returns the index of the first kv whose key has bit depth set.
func splitAt(kvs []KV, depth int) int {
	return sort.Search(len(kvs), func(i int) bool { return bit(kvs[i].Key, depth) == 1 })
}

func (t *Tree) update(version uint64, ref NodeRef, depth int, kvs []KV) (NodeRef, error) {
	if len(kvs) == 0 {
		return ref, nil
	}
	if ref.IsEmpty() {
		return t.build(version, depth, kvs, nil)
	}
	if depth >= 256 {
		return ref, fmt.Errorf("smt: tree deeper than the key length")
	}
	n, err := t.load(ref)
	if err != nil {
		return ref, err
	}
	if n.leaf {
		i := sort.Search(len(kvs), func(i int) bool { return bytes.Compare(kvs[i].Key[:], n.key[:]) >= 0 })
		if i < len(kvs) && kvs[i].Key == n.key {
			if len(kvs) == 1 && bytes.Equal(kvs[0].Value, n.value) {
				return ref, nil // unchanged: keep the old node
			}
			t.retire(ref)
			return t.build(version, depth, kvs, nil)
		}
		// The resident leaf moves down unchanged: keep its node and reference.
		return t.build(version, depth, kvs, &residentLeaf{ref: ref, key: n.key})
	}
	mid := splitAt(kvs, depth)
	var left, right NodeRef
	var lerr, rerr error
	if depth < parallelDepth && mid >= parallelMinKeys && len(kvs)-mid >= parallelMinKeys {
		// Big updates hash their two halves on two cores; the result is the
		// same, since the halves share no node.
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			left, lerr = t.update(version, n.left, depth+1, kvs[:mid])
		}()
		right, rerr = t.update(version, n.right, depth+1, kvs[mid:])
		wg.Wait()
	} else {
		left, lerr = t.update(version, n.left, depth+1, kvs[:mid])
		if lerr == nil {
			right, rerr = t.update(version, n.right, depth+1, kvs[mid:])
		}
	}
	if err := errors.Join(lerr, rerr); err != nil {
		return ref, err
	}
	if left == n.left && right == n.right {
		return ref, nil
	}
	t.retire(ref)
	return t.put(version, &node{left: left, right: right}), nil
}

// residentLeaf is an existing leaf that must end up in a subtree being built.
type residentLeaf struct {
	ref NodeRef
	key Hash
}

// build makes the subtree at depth holding kvs and, if given, the resident leaf.
func (t *Tree) build(version uint64, depth int, kvs []KV, resident *residentLeaf) (NodeRef, error) {
	switch {
	case len(kvs) == 0 && resident == nil:
		return NodeRef{}, nil
	case len(kvs) == 0:
		return resident.ref, nil
	case len(kvs) == 1 && resident == nil:
		return t.put(version, &node{leaf: true, key: kvs[0].Key, value: kvs[0].Value}), nil
	}
	if depth >= 256 {
		return NodeRef{}, fmt.Errorf("smt: two distinct keys share all 256 bits")
	}
	mid := splitAt(kvs, depth)
	var leftRes, rightRes *residentLeaf
	if resident != nil {
		if bit(resident.key, depth) == 0 {
			leftRes = resident
		} else {
			rightRes = resident
		}
	}
	left, err := t.build(version, depth+1, kvs[:mid], leftRes)
	if err != nil {
		return NodeRef{}, err
	}
	right, err := t.build(version, depth+1, kvs[mid:], rightRes)
	if err != nil {
		return NodeRef{}, err
	}
	return t.put(version, &node{left: left, right: right}), nil
}

func (t *Tree) put(version uint64, n *node) NodeRef {
	r := NodeRef{Version: version, Hash: n.hash()}
	t.pendingMu.Lock()
	t.dirty[r] = n
	t.pendingMu.Unlock()
	return r
}

// retire drops a node from the next version: a pending node is simply
// forgotten, a stored one is recorded as stale from the next version on and
// leaves the cache, which should hold the live version (queries of older
// versions read it back from the database).
func (t *Tree) retire(r NodeRef) {
	t.pendingMu.Lock()
	if _, ok := t.dirty[r]; ok {
		delete(t.dirty, r)
		t.pendingMu.Unlock()
		return
	}
	t.stale = append(t.stale, r)
	t.pendingMu.Unlock()
	t.cacheMu.Lock()
	delete(t.cache, r)
	t.cacheMu.Unlock()
}

// Flush puts the pending nodes, and the stale records of the nodes they
// replace, into batch as version `version`, and moves the nodes to the cache.
func (t *Tree) Flush(batch *leveldb.Batch, version uint64) {
	t.pendingMu.Lock()
	dirty, stale := t.dirty, t.stale
	t.dirty, t.stale = make(map[NodeRef]*node), nil
	t.pendingMu.Unlock()
	for r, n := range dirty {
		batch.Put(t.nodeKey(r), n.encode())
		t.remember(r, n)
	}
	for _, r := range stale {
		batch.Put(t.staleKey(version, r), nil)
	}
}

// Discard forgets the pending nodes (a block executed but never committed).
func (t *Tree) Discard() {
	t.pendingMu.Lock()
	t.dirty, t.stale = make(map[NodeRef]*node), nil
	t.pendingMu.Unlock()
}

// PendingNodes is the number of nodes staged for the next Flush.
func (t *Tree) PendingNodes() int {
	t.pendingMu.Lock()
	defer t.pendingMu.Unlock()
	return len(t.dirty)
}

// Prune adds to batch the deletion of every node no version at or above
// oldest can reach: a node stale since version s belongs only to versions
// below s.
func (t *Tree) Prune(batch *leveldb.Batch, oldest uint64) (int, error) {
	start := append(append([]byte(nil), t.prefix...), 's')
	limit := binary.BigEndian.AppendUint64(append([]byte(nil), start...), oldest+1)
	it := t.db.NewIterator(&util.Range{Start: start, Limit: limit}, nil)
	defer it.Release()
	pruned := 0
	for it.Next() {
		k := it.Key()
		if len(k) != len(start)+8+refSize {
			return pruned, fmt.Errorf("smt: corrupt stale record %x", k)
		}
		r := readRef(k[len(start)+8:])
		batch.Delete(t.nodeKey(r))
		batch.Delete(append([]byte(nil), k...))
		t.cacheMu.Lock()
		delete(t.cache, r)
		t.cacheMu.Unlock()
		pruned++
	}
	return pruned, it.Error()
}
