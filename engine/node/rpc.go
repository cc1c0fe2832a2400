package node

import (
	"context"
	"fmt"
	"sync/atomic"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/rpc"
)

// startRPC starts the event bus and the JSON-RPC server on [rpc] laddr (engine/rpc). It
// runs once the switch is up (status reports the node ID and p2p address) and before the
// executor, whose heights it publishes. stop closes the server, then the bus.
func (n *Node) startRPC() (stop func(), err error) {
	events, err := rpc.NewEvents(n.log)
	if err != nil {
		return nil, err
	}
	// Set before the server serves: its status handler reads it.
	n.catchUp.window = syncWindow(n.coreConfig(n.committee.Load(), nil))
	server, err := rpc.New(rpc.Env{Config: n.cfg.RPC, TxIndex: n.cfg.TxIndex.Indexer,
		Genesis: n.gen, Store: n.store, Mempool: rpcMempool{n}, AppQuery: n.conns.Query, AppMempool: n.conns.Mempool,
		P2P: n.sw, PubKey: n.signer.pv.Key.PubKey, Events: events, CatchingUp: n.catchingUp,
		Logger: n.log.With().Str("module", "rpc").Logger()})
	if err == nil {
		err = server.Start()
	}
	if err != nil {
		events.Stop()
		return nil, fmt.Errorf("start the RPC server: %w", err)
	}
	n.rpcServer.Store(server)
	return func() {
		if err := server.Close(); err != nil {
			n.log.Warn().Err(err).Msg("closing the RPC server")
		}
		events.Stop()
	}, nil
}

// publishHeight hands an executed and stored height to RPC subscribers (NewBlock, Tx, ...
// and the waiting broadcast_tx_commit calls). A failure to publish costs subscribers an
// event, never the node its progress.
func (n *Node) publishHeight(b *order.ABCIBlock, resp *abci.ResponseFinalizeBlock) {
	s := n.rpcServer.Load()
	if s == nil {
		return
	}
	if err := s.PublishBlock(b, resp); err != nil {
		n.log.Warn().Err(err).Int64("height", b.Height).Msg("publishing the height's RPC events failed")
	}
}

// RPCAddr is where the RPC server listens ("" before Run started it): with laddr port 0,
// the port the system chose.
func (n *Node) RPCAddr() string {
	if s := n.rpcServer.Load(); s != nil {
		if a := s.Addr(); a != nil {
			return a.String()
		}
	}
	return ""
}

// rpcHolder holds the running RPC server: set by Run, read by the executor and by callers
// of RPCAddr on other goroutines.
type rpcHolder = atomic.Pointer[rpc.Server]

// rpcMempool is the mempool as the RPC sees it: admission goes through Node.CheckTx, which
// also wakes the proposer.
type rpcMempool struct{ n *Node }

func (m rpcMempool) CheckTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	return m.n.CheckTx(ctx, tx)
}
func (m rpcMempool) Size() int                  { return m.n.pool.Size() }
func (m rpcMempool) SizeBytes() int64           { return m.n.pool.SizeBytes() }
func (m rpcMempool) Pending(limit int) [][]byte { return m.n.pool.Pending(limit) }
