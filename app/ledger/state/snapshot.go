package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/tutti-bft/tutti/app/ledger/smt"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// SnapshotFormat is the only snapshot format: chunks of AccountRecords in
// tree-key order, and SnapshotMetadata holding every chunk's sha256. The
// snapshot hash is sha256 of the metadata, so the metadata (which a node
// receives before any chunk) authenticates each chunk on its own.
const SnapshotFormat = 1

// Bounds on what a peer's snapshot may make the decoders parse: a chunk, and
// metadata (32 bytes of hash per chunk: room for a billion accounts).
const (
	maxChunkBytes    = 16 << 20
	maxMetadataBytes = 4 << 20
)

func snapKey(height int64, kind byte, index uint32) []byte {
	k := append(heightKey(prefixSnap, height), kind)
	if kind == 'c' {
		k = binary.BigEndian.AppendUint32(k, index)
	}
	return k
}

// createSnapshot writes a snapshot of the committed height whose root is root
// and deletes snapshots beyond SnapshotKeep. It walks the whole tree, O(n).
func (s *Store) createSnapshot(height int64, root smt.NodeRef) error {
	b := new(leveldb.Batch)
	meta := SnapshotMetadata{ChainId: s.chainID}
	var chunk SnapshotChunk
	flush := func() error {
		raw, err := chunk.Marshal()
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		b.Put(snapKey(height, 'c', uint32(len(meta.ChunkHashes))), raw)
		meta.ChunkHashes = append(meta.ChunkHashes, sum[:])
		chunk.Accounts = chunk.Accounts[:0]
		return nil
	}
	err := s.tree.Walk(root, func(_ smt.Hash, value []byte) error {
		addr, acc, err := decodeLeafValue(value)
		if err != nil {
			return err
		}
		chunk.Accounts = append(chunk.Accounts, AccountRecord{Address: addr[:], Balance: acc.Balance, Nonce: acc.Nonce})
		meta.Accounts++
		if len(chunk.Accounts) >= s.opts.ChunkAccounts {
			return flush()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: snapshot %d: %w", height, err)
	}
	if len(chunk.Accounts) > 0 || len(meta.ChunkHashes) == 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	metaRaw, err := meta.Marshal()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(metaRaw)
	snap := abci.Snapshot{Height: uint64(height), Format: SnapshotFormat, Chunks: uint32(len(meta.ChunkHashes)), Hash: sum[:], Metadata: metaRaw}
	info, err := snap.Marshal()
	if err != nil {
		return err
	}
	b.Put(snapKey(height, 'i', 0), info)
	old, err := s.ListSnapshots()
	if err != nil {
		return err
	}
	// The new snapshot counts towards SnapshotKeep.
	for i := 0; i < len(old)-(s.opts.SnapshotKeep-1); i++ {
		s.deleteSnapshot(b, int64(old[i].Height))
	}
	return s.db.Write(b, syncWrite)
}

func (s *Store) deleteSnapshot(b *leveldb.Batch, height int64) {
	it := s.db.NewIterator(util.BytesPrefix(heightKey(prefixSnap, height)), nil)
	defer it.Release()
	for it.Next() {
		b.Delete(append([]byte(nil), it.Key()...))
	}
}

// ListSnapshots returns the stored snapshots, oldest first.
func (s *Store) ListSnapshots() ([]*abci.Snapshot, error) {
	it := s.db.NewIterator(util.BytesPrefix(prefixSnap), nil)
	defer it.Release()
	var out []*abci.Snapshot
	for it.Next() {
		k := it.Key()
		if len(k) != len(prefixSnap)+8+1 || k[len(k)-1] != 'i' {
			continue
		}
		var snap abci.Snapshot
		if err := snap.Unmarshal(it.Value()); err != nil {
			return nil, fmt.Errorf("state: corrupt snapshot record: %w", err)
		}
		out = append(out, &snap)
	}
	return out, it.Error()
}

// LoadSnapshotChunk returns a stored chunk, or nil if there is none.
func (s *Store) LoadSnapshotChunk(height uint64, format, index uint32) ([]byte, error) {
	if format != SnapshotFormat {
		return nil, nil
	}
	raw, err := s.db.Get(snapKey(int64(height), 'c', index), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, nil
	}
	return raw, err
}

// Restore errors tell the ABCI layer what to answer.
var (
	ErrRejectSnapshot = errors.New("snapshot rejected")
	ErrBadChunk       = errors.New("chunk does not match the snapshot")
)

// Restore rebuilds the store from a snapshot's chunks, applied in order.
type Restore struct {
	s        *Store
	snap     *abci.Snapshot
	meta     SnapshotMetadata
	appHash  smt.Hash
	next     uint32
	lastKey  smt.Hash
	root     smt.NodeRef
	accounts uint64
}

// BeginRestore checks an offered snapshot against the app hash the engine
// trusts for its height. Only an empty store can be restored into.
func (s *Store) BeginRestore(snap *abci.Snapshot, appHash []byte) (*Restore, error) {
	if s.Height() != 0 || s.staged != nil {
		return nil, fmt.Errorf("%w: the store already holds height %d", ErrRejectSnapshot, s.Height())
	}
	if snap.Format != SnapshotFormat {
		return nil, fmt.Errorf("%w: format %d", ErrRejectSnapshot, snap.Format)
	}
	if len(snap.Metadata) > maxMetadataBytes {
		return nil, fmt.Errorf("%w: metadata of %d bytes", ErrRejectSnapshot, len(snap.Metadata))
	}
	sum := sha256.Sum256(snap.Metadata)
	if !bytes.Equal(sum[:], snap.Hash) || len(appHash) != 32 || snap.Height == 0 {
		return nil, fmt.Errorf("%w: metadata, hash or app hash malformed", ErrRejectSnapshot)
	}
	r := &Restore{s: s, snap: snap}
	if err := r.meta.Unmarshal(snap.Metadata); err != nil || len(r.meta.ChunkHashes) != int(snap.Chunks) {
		return nil, fmt.Errorf("%w: metadata does not decode or disagrees on chunk count", ErrRejectSnapshot)
	}
	if r.meta.ChainId == "" {
		return nil, fmt.Errorf("%w: snapshot names no chain", ErrRejectSnapshot)
	}
	copy(r.appHash[:], appHash)
	return r, nil
}

// Apply adds chunk index. It returns done once the last chunk is in and the
// rebuilt tree matches the trusted app hash; then the height is committed.
func (r *Restore) Apply(index uint32, chunk []byte) (done bool, err error) {
	if index != r.next {
		return false, fmt.Errorf("%w: chunk %d arrived, %d expected", ErrBadChunk, index, r.next)
	}
	if len(chunk) > maxChunkBytes {
		return false, fmt.Errorf("%w: chunk %d is %d bytes", ErrBadChunk, index, len(chunk))
	}
	if index >= uint32(len(r.meta.ChunkHashes)) {
		return false, fmt.Errorf("%w: chunk %d of %d", ErrBadChunk, index, len(r.meta.ChunkHashes))
	}
	sum := sha256.Sum256(chunk)
	if !bytes.Equal(sum[:], r.meta.ChunkHashes[index]) {
		return false, fmt.Errorf("%w: chunk %d hash mismatch", ErrBadChunk, index)
	}
	var c SnapshotChunk
	if err := c.Unmarshal(chunk); err != nil {
		return false, fmt.Errorf("%w: chunk %d: %v", ErrRejectSnapshot, index, err)
	}
	h := int64(r.snap.Height)
	b := new(leveldb.Batch)
	kvs := make([]smt.KV, 0, len(c.Accounts))
	for _, rec := range c.Accounts {
		addr, err := tx.AddressFromBytes(rec.Address)
		if err != nil {
			return false, fmt.Errorf("%w: %v", ErrRejectSnapshot, err)
		}
		key := smt.KeyHash(addr[:])
		// Keys strictly increasing across chunks: every account once, and
		// the tree only grows while restoring (see smt's version rules).
		if r.accounts > 0 && bytes.Compare(key[:], r.lastKey[:]) <= 0 {
			return false, fmt.Errorf("%w: accounts out of order", ErrRejectSnapshot)
		}
		r.lastKey, r.accounts = key, r.accounts+1
		acc := Account{Balance: rec.Balance, Nonce: rec.Nonce}
		kvs = append(kvs, smt.KV{Key: key, Value: leafValue(addr, acc)})
		b.Put(append(append([]byte(nil), prefixAccount...), addr[:]...), acc.encode())
	}
	if r.root, err = r.s.tree.Update(uint64(h), r.root, kvs); err != nil {
		return false, err
	}
	r.s.tree.Flush(b, uint64(h))
	r.next++
	last := r.next == r.snap.Chunks
	if last {
		if r.root.Hash != r.appHash || r.accounts != r.meta.Accounts {
			r.s.tree.Discard()
			return false, fmt.Errorf("%w: restored state has app hash %X, trusted %X", ErrRejectSnapshot, r.root.Hash[:], r.appHash[:])
		}
		b.Put(heightKey(prefixRoot, h), appendRef(nil, r.root))
		b.Put(keyChainID, []byte(r.meta.ChainId))
		b.Put(keyMeta, appendRef(binary.BigEndian.AppendUint64(nil, uint64(h)), r.root))
	}
	if err := r.s.db.Write(b, syncWrite); err != nil {
		return false, err
	}
	if last {
		r.s.mu.Lock()
		r.s.height, r.s.root = h, r.root
		r.s.mu.Unlock()
		r.s.chainID = r.meta.ChainId
	}
	return last, nil
}

// Wipe deletes everything a failed restore wrote, leaving an empty store.
func (s *Store) Wipe() error {
	if s.Height() != 0 {
		return errors.New("state: refusing to wipe a store with committed heights")
	}
	b := new(leveldb.Batch)
	it := s.db.NewIterator(nil, nil)
	for it.Next() {
		b.Delete(append([]byte(nil), it.Key()...))
	}
	it.Release()
	s.tree.Discard()
	return s.db.Write(b, syncWrite)
}

// ChainID is the chain the snapshot being restored belongs to.
func (r *Restore) ChainID() string { return r.meta.ChainId }
