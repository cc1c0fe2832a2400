package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/tutti-bft/tutti/app/ledger/smt"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// Key layout of the store's goleveldb.
var (
	keyMeta       = []byte("m") // height(8) | root ref
	keyChainID    = []byte("c") // chain id from InitChain or a snapshot
	prefixAccount = []byte("a") // + address -> balance(8) | nonce(8), latest committed
	prefixRoot    = []byte("r") // + height(8) -> root ref, retained versions only
	prefixTree    = []byte("t") // the sparse Merkle tree's nodes and stale index
	prefixSnap    = []byte("p") // snapshots, see snapshot.go
	syncWrite     = &opt.WriteOptions{Sync: true}
)

// Options tune a Store.
type Options struct {
	KeepVersions     int64 // committed heights kept readable and provable (>= 1)
	SnapshotInterval int64 // take a snapshot every this many heights; 0 = never
	SnapshotKeep     int   // snapshots kept
	ChunkAccounts    int   // accounts per snapshot chunk
	CacheNodes       int   // decoded tree nodes kept in memory
}

// DefaultOptions are what ledger.New uses unless told otherwise.
func DefaultOptions() Options {
	return Options{KeepVersions: 100, SnapshotInterval: 0, SnapshotKeep: 2, ChunkAccounts: 16384, CacheNodes: smt.DefaultCacheNodes}
}

// Store is the committed state plus at most one staged, uncommitted height.
// Commit writes one goleveldb batch with sync=true: a height is durable
// exactly when Commit returns, and a crash before that leaves the previous
// height intact.
type Store struct {
	db   *leveldb.DB
	tree *smt.Tree
	opts Options

	mu     sync.RWMutex
	height int64
	root   smt.NodeRef

	chainID       string
	stagedChainID string

	staged       map[tx.Address]Account
	stagedRoot   smt.NodeRef
	stagedHeight int64
}

// Open opens (or creates) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	if opts.KeepVersions < 1 {
		opts.KeepVersions = 1
	}
	if opts.SnapshotKeep < 1 {
		opts.SnapshotKeep = 1
	}
	if opts.ChunkAccounts < 1 {
		opts.ChunkAccounts = DefaultOptions().ChunkAccounts
	}
	db, err := leveldb.OpenFile(dir, &opt.Options{
		// Tree nodes are mostly hashes, which do not compress; a larger
		// memtable means fewer compactions for the ~17 nodes written per
		// changed account.
		Compression:        opt.NoCompression,
		WriteBuffer:        32 << 20,
		BlockCacheCapacity: 64 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", dir, err)
	}
	s := &Store{db: db, tree: smt.New(db, prefixTree, opts.CacheNodes), opts: opts}
	if err := s.loadMeta(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) loadMeta() error {
	raw, err := s.db.Get(keyMeta, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: read meta: %w", err)
	}
	if len(raw) != 8+8+32 {
		return fmt.Errorf("state: corrupt meta record (%d bytes)", len(raw))
	}
	s.height = int64(binary.BigEndian.Uint64(raw))
	s.root = readRef(raw[8:])
	id, err := s.db.Get(keyChainID, nil)
	if err != nil {
		return fmt.Errorf("state: read chain id: %w", err)
	}
	s.chainID = string(id)
	return nil
}

// ChainID is the committed chain id, or the one staged by InitChain.
func (s *Store) ChainID() string {
	if s.stagedChainID != "" {
		return s.stagedChainID
	}
	return s.chainID
}

// StageChainID records the chain id with the next commit.
func (s *Store) StageChainID(id string) { s.stagedChainID = id }

// Close releases the database. Staged changes are dropped.
func (s *Store) Close() error { return s.db.Close() }

// Height is the last committed height (0 before the first commit).
func (s *Store) Height() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.height
}

// AppHash is the root hash of the last committed state.
func (s *Store) AppHash() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := s.root.Hash
	return h[:]
}

// Account reads the last committed state.
func (s *Store) Account(a tx.Address) (Account, error) {
	raw, err := s.db.Get(append(append([]byte(nil), prefixAccount...), a[:]...), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return Account{}, nil
	}
	if err != nil {
		return Account{}, fmt.Errorf("state: read account %s: %w", a, err)
	}
	return decodeAccount(raw)
}

// stagedView reads the staged state: committed plus what Stage has applied.
type stagedView struct{ s *Store }

func (v stagedView) Account(a tx.Address) (Account, error) {
	if acc, ok := v.s.staged[a]; ok {
		return acc, nil
	}
	return v.s.Account(a)
}

// Staged is a view of the committed state with the staged changes applied.
// It must not be used concurrently with Stage.
func (s *Store) Staged() Reader { return stagedView{s} }

// Stage applies changes on top of the staged state (or the committed one)
// for height and returns the resulting app hash. Costs O(len(changes) log n).
func (s *Store) Stage(height int64, changes map[tx.Address]Account) ([]byte, error) {
	if height <= s.Height() {
		return nil, fmt.Errorf("state: height %d is not above the committed %d", height, s.Height())
	}
	if s.staged == nil {
		s.staged = make(map[tx.Address]Account)
		s.stagedRoot = s.root
	} else if height != s.stagedHeight {
		return nil, fmt.Errorf("state: height %d staged while %d is uncommitted", height, s.stagedHeight)
	}
	s.stagedHeight = height
	kvs := make([]smt.KV, 0, len(changes))
	for a, acc := range changes {
		s.staged[a] = acc
		kvs = append(kvs, smt.KV{Key: smt.KeyHash(a[:]), Value: leafValue(a, acc)})
	}
	root, err := s.tree.Update(uint64(height), s.stagedRoot, kvs)
	if err != nil {
		return nil, err
	}
	s.stagedRoot = root
	return root.Hash[:], nil
}

// StagedHeight is the height staged and not yet committed, or 0.
func (s *Store) StagedHeight() int64 {
	if s.staged == nil {
		return 0
	}
	return s.stagedHeight
}

// Discard drops the staged height.
func (s *Store) Discard() {
	s.staged, s.stagedChainID = nil, ""
	s.tree.Discard()
}

// Commit makes the staged height durable in one synced batch and prunes the
// versions that fall out of the retention window.
func (s *Store) Commit() error {
	if s.staged == nil {
		return errors.New("state: nothing staged to commit")
	}
	h := s.stagedHeight
	b := new(leveldb.Batch)
	for a, acc := range s.staged {
		b.Put(append(append([]byte(nil), prefixAccount...), a[:]...), acc.encode())
	}
	s.tree.Flush(b, uint64(h))
	if s.stagedChainID != "" {
		b.Put(keyChainID, []byte(s.stagedChainID))
	}
	b.Put(heightKey(prefixRoot, h), appendRef(nil, s.stagedRoot))
	meta := binary.BigEndian.AppendUint64(nil, uint64(h))
	b.Put(keyMeta, appendRef(meta, s.stagedRoot))
	if oldest := h - s.opts.KeepVersions + 1; oldest > 1 {
		if _, err := s.tree.Prune(b, uint64(oldest)); err != nil {
			return err
		}
		it := s.db.NewIterator(&util.Range{Start: heightKey(prefixRoot, 0), Limit: heightKey(prefixRoot, oldest)}, nil)
		for it.Next() {
			b.Delete(append([]byte(nil), it.Key()...))
		}
		it.Release()
		if err := it.Error(); err != nil {
			return err
		}
	}
	if err := s.db.Write(b, syncWrite); err != nil {
		return fmt.Errorf("state: commit height %d: %w", h, err)
	}
	s.mu.Lock()
	s.height, s.root = h, s.stagedRoot
	s.mu.Unlock()
	s.staged = nil
	if s.stagedChainID != "" {
		s.chainID, s.stagedChainID = s.stagedChainID, ""
	}
	if s.opts.SnapshotInterval > 0 && h%s.opts.SnapshotInterval == 0 {
		return s.createSnapshot(h, s.root)
	}
	return nil
}

// rootAt is the tree root of a retained committed height.
func (s *Store) rootAt(height int64) (smt.NodeRef, error) {
	raw, err := s.db.Get(heightKey(prefixRoot, height), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return smt.NodeRef{}, fmt.Errorf("height %d is not retained (last %d, keeping %d versions)", height, s.Height(), s.opts.KeepVersions)
	}
	if err != nil {
		return smt.NodeRef{}, err
	}
	if len(raw) != 40 {
		return smt.NodeRef{}, errors.New("state: corrupt root record")
	}
	return readRef(raw), nil
}

// AccountAt reads an account at a retained height with a proof against that
// height's app hash. height 0 means the last committed height.
func (s *Store) AccountAt(height int64, a tx.Address) (Account, *Proof, int64, error) {
	if height == 0 {
		height = s.Height()
	}
	root, err := s.rootAt(height)
	if err != nil {
		return Account{}, nil, 0, err
	}
	val, p, err := s.tree.Get(root, smt.KeyHash(a[:]))
	if err != nil {
		return Account{}, nil, 0, err
	}
	var acc Account
	if val != nil {
		if _, acc, err = decodeLeafValue(val); err != nil {
			return Account{}, nil, 0, err
		}
	}
	return acc, proofToRecord(p), height, nil
}

func heightKey(prefix []byte, h int64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), uint64(h))
}

func appendRef(b []byte, r smt.NodeRef) []byte {
	b = binary.BigEndian.AppendUint64(b, r.Version)
	return append(b, r.Hash[:]...)
}

func readRef(b []byte) smt.NodeRef {
	var r smt.NodeRef
	r.Version = binary.BigEndian.Uint64(b)
	copy(r.Hash[:], b[8:40])
	return r
}
