package rpc

import (
	"context"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/proxy"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/engine/genesis"
	"github.com/tutti-bft/tutti/engine/store"
	"github.com/tutti-bft/tutti/p2p"
)

// Mempool is what the routes need of the node's mempool. CheckTx admits a transaction
// (the node also wakes its proposer), the rest reads the pool.
type Mempool interface {
	CheckTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error)
	Size() int
	SizeBytes() int64
	Pending(limit int) [][]byte
}

// Peers is what net_info and status need of the p2p switch (*p2p.Switch).
type Peers interface {
	// NodeInfo is what the switch tells peers about this node, which status
	// reports as node_info, as CometBFT does.
	NodeInfo() cmtp2p.DefaultNodeInfo
	Peers() []p2p.PeerInfo
	ConnectionStatus(p2p.ID) (cmtp2p.ConnectionStatus, bool)
}

// Env is everything the routes read. Every field is safe to use from many goroutines;
// the engine core, owned by the node's loop, is deliberately not here.
type Env struct {
	Config config.RPCConfig
	// TxIndex is [tx_index] indexer: "null" turns tx, tx_search and block_search off, as
	// in CometBFT.
	TxIndex  string
	Genesis  *genesis.Doc
	Store    *store.Store
	Mempool  Mempool
	AppQuery proxy.AppConnQuery
	// AppMempool is the app's mempool connection, for check_tx (CheckTx without adding).
	AppMempool proxy.AppConnMempool
	P2P        Peers
	PubKey     crypto.PubKey
	Events     *Events
	// CatchingUp reports whether the node knows itself behind the network
	// (status' catching_up); nil is never.
	CatchingUp func() bool
	Logger     zerolog.Logger
}

func (e *Env) check() error {
	switch {
	case e.Genesis == nil || e.Store == nil || e.Mempool == nil || e.AppQuery == nil || e.AppMempool == nil:
		return fmt.Errorf("rpc: environment misses its genesis, store, mempool or app connections")
	case e.P2P == nil || e.PubKey == nil || e.Events == nil:
		return fmt.Errorf("rpc: environment misses its p2p switch, validator key or event bus")
	}
	return nil
}

// Paging as CometBFT pages: 30 per page unless asked, at most 100.
const (
	defaultPerPage = 30
	maxPerPage     = 100
)

// perPage clamps a per_page (or limit) parameter the way CometBFT does: absent or below 1
// is the default, above the maximum is the maximum.
func perPage(p *int) int {
	switch {
	case p == nil || *p < 1:
		return defaultPerPage
	case *p > maxPerPage:
		return maxPerPage
	}
	return *p
}

// page checks a page parameter against the number of results; pages count from 1 and an
// empty result still has page 1.
func page(p *int, per, total int) (int, error) {
	if p == nil {
		return 1, nil
	}
	pages := max((total+per-1)/per, 1)
	if *p <= 0 || *p > pages {
		return 1, fmt.Errorf("page should be within [1, %d] range, given %d", pages, *p)
	}
	return *p, nil
}

// pageBounds is the slice [from, to) of total results that page pg of per holds.
func pageBounds(pg, per, total int) (int, int) {
	from := min((pg-1)*per, total)
	return from, min(from+per, total)
}

// height resolves an optional height parameter against the stored range; absent is the
// latest height. The messages are CometBFT's.
func (e *Env) height(p *int64) (int64, error) {
	latest := e.Store.Height()
	if p == nil {
		if latest == 0 {
			return 0, fmt.Errorf("no blocks yet")
		}
		return latest, nil
	}
	h := *p
	if h <= 0 {
		return 0, fmt.Errorf("height must be greater than 0, but got %d", h)
	}
	if h > latest {
		return 0, fmt.Errorf("height %d must be less than or equal to the current blockchain height %d", h, latest)
	}
	if base := e.Store.Base(); h < base {
		return 0, fmt.Errorf("height %d is not available, lowest height is %d", h, base)
	}
	return h, nil
}

func (e *Env) txIndexOff() bool { return e.TxIndex == "null" }
