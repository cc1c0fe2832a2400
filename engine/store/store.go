package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// DBName is the database directory inside the data directory given to Open.
const DBName = "tutti.db"

// Store is the node's database. Reads run concurrently with each other and with writes;
// the executor's SaveExecuted and the ordering loop's Persist may run on two goroutines
// (heights are serialised by the store, goleveldb orders the rest).
type Store struct {
	db   *leveldb.DB
	stor storage.Storage
	path string

	writeMu sync.Mutex
	base    atomic.Int64 // lowest height held (0: none)
	height  atomic.Int64 // highest height held (0: none)

	indexMu sync.Mutex   // one IndexPending at a time
	indexed atomic.Int64 // the last height the index holds (indexer.go)
	noIndex atomic.Bool  // IndexOff

	recovery Recovery
}

// Recovery is what Open found and repaired. The node logs it (WARN) and re-derives
// dropped heights from the DAG or its peers.
type Recovery struct {
	// JournalDrops are goleveldb's own reports of journal bytes it could not replay: a
	// torn tail after a crash, or damage. Whatever they held is gone from every part of the
	// store (DAG blocks included); the block store's check below still holds.
	JournalDrops []string
	// DroppedHeights were incomplete and removed so that the block store ends at its last
	// complete height.
	DroppedHeights []int64
}

// journalWatch passes goleveldb's storage through, keeping the journal drops it logs:
// goleveldb replays a damaged journal silently otherwise.
type journalWatch struct {
	storage.Storage
	mu    sync.Mutex
	drops []string
}

func (w *journalWatch) Log(line string) {
	if strings.HasPrefix(line, "journal@drop") {
		w.mu.Lock()
		w.drops = append(w.drops, line)
		w.mu.Unlock()
	}
	w.Storage.Log(line)
}

var syncWrite = &opt.WriteOptions{Sync: true}

// Open opens (creating if needed) the database in dir/tutti.db and checks the ABCI block
// store: contiguous from its lowest to its highest height, every record of the highest
// height present and intact. An incomplete highest height is dropped (see Recovered);
// a gap or a damaged record is an error naming the database and what to do.
func Open(dir string) (*Store, error) {
	path := filepath.Join(dir, DBName)
	s, err := openDB(path)
	switch {
	case lerrors.IsCorrupted(err):
		return nil, &CorruptError{File: path, Key: "the database files", Reason: err.Error()}
	case errors.Is(err, syscall.EAGAIN):
		return nil, fmt.Errorf("store: %s is locked by another process (is another node running on this home?): %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := s.checkABCI(); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	if err := s.loadIndexed(); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// openDB opens goleveldb through a storage that keeps its journal drops.
func openDB(path string) (*Store, error) {
	stor, err := storage.OpenFile(path, false)
	if err != nil {
		return nil, err
	}
	watch := &journalWatch{Storage: stor}
	db, err := leveldb.Open(watch, nil)
	if err != nil {
		// The open error is the one to report (IsCorrupted looks at its type, unwrapped).
		_ = stor.Close()
		return nil, err
	}
	watch.mu.Lock()
	defer watch.mu.Unlock()
	return &Store{db: db, stor: stor, path: path, recovery: Recovery{JournalDrops: slices.Clone(watch.drops)}}, nil
}

// IndexOff stops building the transaction and block event index, as [tx_index] indexer =
// "null" asks: IndexPending indexes nothing (lookups find nothing for the heights stored
// meanwhile), so a node nobody searches pays neither the bytes nor the writes.
func (s *Store) IndexOff() { s.noIndex.Store(true) }

// Recovered reports what Open repaired.
func (s *Store) Recovered() Recovery { return s.recovery }

// Path is the database directory.
func (s *Store) Path() string { return s.path }

// Close flushes and closes the database. Reads racing with Close return an error.
func (s *Store) Close() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return errors.Join(s.db.Close(), s.stor.Close())
}

// get reads and decodes one record; ErrNotFound when absent.
func (s *Store) get(key []byte, into unmarshaler) error {
	payload, err := s.getPayload(key)
	if err != nil {
		return err
	}
	return s.guard(key, func() error { return into.Unmarshal(payload) })
}

// getPayload reads one record and checks its checksum; ErrNotFound when absent.
func (s *Store) getPayload(key []byte) ([]byte, error) {
	v, err := s.db.Get(key, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, describeKey(key))
	}
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", describeKey(key), err)
	}
	return s.open(key, v)
}

func prefixRange(prefix []byte) *util.Range {
	return &util.Range{Start: prefix, Limit: prefixEnd(prefix)}
}
