// Package mempool admits transactions into a node's pool: CheckTx on arrival, from clients
// and relayed by peers, a cache of recent hashes (committed ones included) that refuses
// duplicates, limits on count and bytes, removal on commit, recheck after each block, and
// reaping in arrival order for the validator's own DAG blocks so that a client's sequence
// stays in order. Relayed transactions another validator is meant to propose are kept as
// fallbacks: never reaped, handed to the core in admission order (TakeRelayed).
//
// A transaction acknowledged to a client (CheckTx code 0) is never dropped silently: its
// room in the pool is reserved before the app is asked, so the pool cannot fill up between
// CheckTx and insertion (the silent drop CometBFT v0.38 has in resCbFirstTime).
package mempool

import (
	"context"
	"errors"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtmempool "github.com/cometbft/cometbft/mempool"
	cmttypes "github.com/cometbft/cometbft/types"
)

// App is the part of the ABCI mempool connection the pool needs (proxy.AppConnMempool has
// it).
type App interface {
	CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error)
	// Error is the error that stopped the connection, if it stopped. A stopped cometbft
	// client would hold a request forever, so the pool asks first.
	Error() error
}

// Config holds the pool's limits ([mempool] in config.toml).
type Config struct {
	Size        int   // maximum number of pending transactions
	MaxTxsBytes int64 // maximum total bytes of pending transactions
	MaxTxBytes  int   // largest single transaction
	CacheSize   int   // recent hashes remembered to refuse duplicates
	Recheck     bool  // re-run CheckTx on pending transactions after each block
}

// ErrAppFailed wraps a failure of the ABCI connection itself (not a CheckTx refusal): the
// node must stop, as it does when any ABCI connection breaks.
var ErrAppFailed = errors.New("ABCI mempool connection failed")

type entry struct {
	tx       []byte
	key      cmttypes.TxKey
	seq      uint64
	inFlight bool // reaped into one of our DAG blocks that is not yet ordered
	// A fallback is a relayed transaction another validator is meant to propose: it is
	// kept (the app's check state has it, and the core takes it over if its owner fails)
	// but never reaped. relaySeq numbers fallbacks in admission order, from 1.
	fallback bool
	relaySeq uint64
	// barrier: for a transaction to propose, how many fallbacks were admitted before it.
	barrier uint64
}

// Relayed is a fallback as the core learns of it (core.RelayedTx).
type Relayed struct {
	Seq   uint64
	Tx    []byte
	Owner []byte
}

// Mempool is safe for concurrent use: RPC handlers admit transactions while the node reaps
// and updates.
type Mempool struct {
	cfg Config
	app App

	// commitMu keeps new transactions away from the app from its Commit until the pool is
	// rechecked (Lock/Unlock, held by the executor; CheckTx takes it shared). Otherwise a
	// transaction admitted in between enters the app's fresh pending state, then is
	// rechecked against that same state, which already holds it, and is dropped (a ledger
	// nonce seen twice), as CometBFT prevents with its mempool lock.
	commitMu sync.RWMutex

	mu            sync.Mutex
	byKey         map[cmttypes.TxKey]*entry
	queue         []*entry // arrival order; removed entries are compacted lazily
	removed       int      // entries in queue no longer in byKey
	bytes         int64
	reserved      int
	reservedBytes int64
	nextSeq       uint64
	cache         *hashCache

	relaySeq       uint64    // fallbacks admitted so far
	newRelayed     []Relayed // admitted since the last TakeRelayed
	droppedRelayed []uint64  // fallbacks dropped since then (relaySeq)
}

// New returns an empty pool that admits through app.
func New(cfg Config, app App) *Mempool {
	return &Mempool{
		cfg:   cfg,
		app:   app,
		byKey: make(map[cmttypes.TxKey]*entry),
		cache: newHashCache(cfg.CacheSize),
	}
}

// CheckTx admits a client's tx for this node to propose. A refusal by the pool is an error
// of cometbft's mempool types (ErrTxTooLarge, ErrTxInCache, ErrMempoolIsFull), as CometBFT
// returns to RPC clients; a refusal by the app is a response with a non-zero code; a
// broken app connection is an error wrapping ErrAppFailed. A response with code 0 means
// the transaction is in the pool.
func (m *Mempool) CheckTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	return m.admit(ctx, tx, nil, true)
}

// CheckRelayed admits a tx a peer relayed, exactly as CheckTx does. With propose it is
// this node's to propose (it is the owner the relay named); otherwise it is a fallback,
// kept for the app's check state and for the core (TakeRelayed), never reaped.
func (m *Mempool) CheckRelayed(ctx context.Context, tx, owner []byte, propose bool) (*abci.ResponseCheckTx, error) {
	return m.admit(ctx, tx, owner, propose)
}

func (m *Mempool) admit(ctx context.Context, tx, owner []byte, propose bool) (*abci.ResponseCheckTx, error) {
	m.commitMu.RLock()
	defer m.commitMu.RUnlock()
	if len(tx) > m.cfg.MaxTxBytes {
		return nil, cmtmempool.ErrTxTooLarge{Max: m.cfg.MaxTxBytes, Actual: len(tx)}
	}
	if err := m.app.Error(); err != nil {
		return nil, errors.Join(ErrAppFailed, err)
	}
	key := cmttypes.Tx(tx).Key()
	if err := m.reserve(key, len(tx)); err != nil {
		return nil, err
	}
	res, err := m.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})

	m.mu.Lock()
	defer m.mu.Unlock()
	m.reserved--
	m.reservedBytes -= int64(len(tx))
	if err != nil {
		m.cache.remove(key)
		return nil, errors.Join(ErrAppFailed, err)
	}
	if res.Code != abci.CodeTypeOK {
		// Forget refused transactions so a client may send them again once valid.
		m.cache.remove(key)
		return res, nil
	}
	e := m.insertLocked(tx, key)
	if propose {
		e.barrier = m.relaySeq
	} else {
		m.relaySeq++
		e.fallback, e.relaySeq = true, m.relaySeq
		m.newRelayed = append(m.newRelayed, Relayed{Seq: e.relaySeq, Tx: tx, Owner: owner})
	}
	return res, nil
}

// reserve claims room for one transaction of n bytes before the app sees it, and marks
// its hash as seen so a concurrent duplicate is refused.
func (m *Mempool) reserve(key cmttypes.TxKey, n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cache.has(key) {
		return cmtmempool.ErrTxInCache
	}
	count := len(m.byKey) + m.reserved
	if count >= m.cfg.Size || m.bytes+m.reservedBytes+int64(n) > m.cfg.MaxTxsBytes {
		return cmtmempool.ErrMempoolIsFull{NumTxs: count, MaxTxs: m.cfg.Size,
			TxsBytes: m.bytes + m.reservedBytes, MaxTxsBytes: m.cfg.MaxTxsBytes}
	}
	m.reserved++
	m.reservedBytes += int64(n)
	m.cache.add(key)
	return nil
}

func (m *Mempool) insertLocked(tx []byte, key cmttypes.TxKey) *entry {
	e := &entry{tx: tx, key: key, seq: m.nextSeq}
	m.nextSeq++
	m.byKey[key] = e
	m.queue = append(m.queue, e)
	m.bytes += int64(len(tx))
	return e
}

func (m *Mempool) removeLocked(e *entry) {
	delete(m.byKey, e.key)
	m.bytes -= int64(len(e.tx))
	m.removed++
	// Compact once half the queue is dead, so removal stays O(1) amortised.
	if m.removed > len(m.queue)/2 {
		live := m.queue[:0]
		for _, q := range m.queue {
			if m.byKey[q.key] == q {
				live = append(live, q)
			}
		}
		for i := len(live); i < len(m.queue); i++ {
			m.queue[i] = nil
		}
		m.queue, m.removed = live, 0
	}
}

// Reap returns pending transactions this node is to propose and not yet in one of its
// blocks, in arrival order, up to maxBytes in total (and maxTxs if positive), and marks
// them in flight. afterRelayed is the largest barrier among them: how many fallbacks were
// admitted before the last (core.PayloadAvailable.AfterRelayed).
func (m *Mempool) Reap(maxBytes int64, maxTxs int) (txs [][]byte, afterRelayed uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var size int64
	for _, e := range m.queue {
		if m.byKey[e.key] != e || e.inFlight || e.fallback {
			continue
		}
		if size+int64(len(e.tx)) > maxBytes || (maxTxs > 0 && len(txs) >= maxTxs) {
			break // stop rather than skip, so a client's later tx never overtakes an earlier one
		}
		e.inFlight = true
		size += int64(len(e.tx))
		txs = append(txs, e.tx)
		afterRelayed = max(afterRelayed, e.barrier)
	}
	return txs, afterRelayed
}

// TakeRelayed returns the fallbacks admitted, and the Seq of those dropped (refused on
// recheck, or committed), since the last call, in order. Call it before handing the core a batch reaped after them.
func (m *Mempool) TakeRelayed() (added []Relayed, dropped []uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	added, dropped = m.newRelayed, m.droppedRelayed
	m.newRelayed, m.droppedRelayed = nil, nil
	return added, dropped
}

// Has reports whether tx is pending.
func (m *Mempool) Has(tx []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.byKey[cmttypes.Tx(tx).Key()]
	return ok
}

// Return releases transactions reaped into a block that will not be ordered, so they are
// proposed again.
func (m *Mempool) Return(txs [][]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, tx := range txs {
		if e, ok := m.byKey[cmttypes.Tx(tx).Key()]; ok {
			e.inFlight = false
		}
	}
}

// Lock keeps CheckTx from reaching the app until Unlock: the executor holds it from just
// before the app's Commit until Update has rechecked the pool. Reap, Return and Update do
// not take it.
func (m *Mempool) Lock() { m.commitMu.Lock() }

// Unlock lets CheckTx through again.
func (m *Mempool) Unlock() { m.commitMu.Unlock() }

// Update removes the transactions a block committed and remembers their hashes, then, if
// configured, rechecks what is left and drops what the app now refuses. It returns the
// rechecked transactions that were dropped.
//
// Transactions in flight (in one of our blocks, not yet ordered) are rechecked too, in
// arrival order, as CometBFT rechecks every pending transaction: an app that rebuilds its
// pending view from rechecks (an account's nonces, as the ledger and the Cosmos SDK do)
// must see them, or a later transaction of the same account, left out of a proposal by
// PrepareProposal, would look like a gap and be dropped. An in-flight one the app now
// refuses is kept: its block may still be ordered, and FinalizeBlock judges it then.
func (m *Mempool) Update(ctx context.Context, committed [][]byte) ([][]byte, error) {
	m.mu.Lock()
	for _, tx := range committed {
		key := cmttypes.Tx(tx).Key()
		m.cache.add(key)
		if e, ok := m.byKey[key]; ok {
			m.removeLocked(e)
			if e.fallback {
				// The core may have taken this fallback in after it ordered the
				// transaction (the relay arrived between ordering and execution): told
				// nothing, it would wait for it and in the end propose it again.
				m.droppedRelayed = append(m.droppedRelayed, e.relaySeq)
			}
		}
	}
	var pending []*entry
	if m.cfg.Recheck {
		for _, e := range m.queue {
			if m.byKey[e.key] == e {
				pending = append(pending, e)
			}
		}
	}
	m.mu.Unlock()

	var dropped [][]byte
	for _, e := range pending {
		if err := m.app.Error(); err != nil {
			return dropped, errors.Join(ErrAppFailed, err)
		}
		res, err := m.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: e.tx, Type: abci.CheckTxType_Recheck})
		if err != nil {
			return dropped, errors.Join(ErrAppFailed, err)
		}
		if res.Code == abci.CodeTypeOK {
			continue
		}
		m.mu.Lock()
		if m.byKey[e.key] == e && !e.inFlight {
			m.removeLocked(e)
			m.cache.remove(e.key)
			dropped = append(dropped, e.tx)
			if e.fallback {
				m.droppedRelayed = append(m.droppedRelayed, e.relaySeq)
			}
		}
		m.mu.Unlock()
	}
	return dropped, nil
}

// Size is the number of pending transactions.
func (m *Mempool) Size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byKey)
}

// SizeBytes is the total size of pending transactions.
func (m *Mempool) SizeBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

// Pending returns up to limit pending transactions in arrival order (all if limit <= 0),
// for the unconfirmed_txs RPC.
func (m *Mempool) Pending(limit int) [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	for _, e := range m.queue {
		if m.byKey[e.key] != e {
			continue
		}
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, e.tx)
	}
	return out
}
