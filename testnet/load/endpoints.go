package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/app/ledger/client"
)

const (
	blockQuery = "tm.event='NewBlock'"
	subscriber = "tutti-load"
)

// endpoint is one node: an HTTP client for broadcasts and a websocket for its events.
type endpoint struct {
	url string
	rpc *rpchttp.HTTP
	hc  *http.Client   // the RPC client's own, for batches (batch.go)
	ws  *wsBroadcaster // broadcasts over a websocket (--transport ws); nil: over HTTP
}

// dial opens an endpoint whose HTTP client keeps up to conns connections alive, so that
// concurrent broadcasts reuse connections instead of opening one per request (Go's
// default keeps two idle connections per host).
func dial(url string, conns int) (*endpoint, error) {
	hc := &http.Client{Transport: &http.Transport{
		DisableCompression:  true,
		MaxIdleConnsPerHost: conns,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	c, err := rpchttp.NewWithClient(url, "/websocket", hc)
	if err != nil {
		return nil, fmt.Errorf("load: %s: %w", url, err)
	}
	return &endpoint{url: url, rpc: c, hc: hc}, nil
}

// subscribe starts the endpoint's websocket and subscribes to NewBlock events, feeding
// them to tr until ctx ends. A NewBlock event lists the block's transactions and their
// results, one event per height, so the cost of observing does not grow with the rate:
// subscribing to Tx events instead (one per transaction per observed node) made the
// observer the bottleneck of a 2-core host near 1,400 tx/s, and a node cancels a Tx
// subscription whose 200-event buffer a large block overflows (CometBFT's limit). The out
// channel is unbuffered: cometbft's client drops an event when a buffered channel is full,
// but blocks on an unbuffered one. It returns once a NewBlock has arrived, which proves
// the subscription is live.
func (e *endpoint) subscribe(ctx context.Context, tr *tracker, within time.Duration) error {
	if err := e.rpc.Start(); err != nil {
		return fmt.Errorf("load: %s: websocket: %w", e.url, err)
	}
	blocks, err := e.rpc.Subscribe(ctx, subscriber, blockQuery, 0)
	if err != nil {
		return fmt.Errorf("load: %s: subscribe to NewBlock events: %w", e.url, err)
	}
	first := make(chan struct{})
	go func() {
		seen := false
		for {
			select {
			case ev := <-blocks:
				if d, ok := ev.Data.(cmttypes.EventDataNewBlock); ok && d.Block != nil {
					now := time.Now()
					results := d.ResultFinalizeBlock.TxResults
					for i, tx := range d.Block.Txs {
						var code uint32
						if i < len(results) && results[i] != nil {
							code = results[i].Code
						}
						tr.txEvent(tx, d.Block.Height, code, now)
					}
					tr.newHeight(d.Block.Height, now)
					if !seen {
						seen = true
						close(first)
					}
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	select {
	case <-first:
		return nil
	case <-time.After(within):
		return fmt.Errorf("load: %s: no NewBlock event within %v of subscribing: is the chain making blocks?", e.url, within)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close ends the websocket.
func (e *endpoint) close() {
	if e.ws != nil {
		e.ws.close()
	}
	if e.rpc.IsRunning() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = e.rpc.UnsubscribeAll(ctx, subscriber)
		cancel()
		_ = e.rpc.Stop()
	}
}

// answer is a node's answer to a broadcast: its outcome, the CheckTx code of a refusal,
// and why, for the report.
type answer struct {
	outcome outcome
	code    uint32
	reason  string
}

// broadcast sends raw with broadcast_tx_sync and classifies the answer.
func (e *endpoint) broadcast(ctx context.Context, raw []byte) answer {
	if e.ws != nil {
		return e.ws.broadcast(ctx, raw)
	}
	res, err := e.rpc.BroadcastTxSync(ctx, raw)
	var rpcErr *rpctypes.RPCError
	switch {
	case errors.As(err, &rpcErr):
		// The node answered with an error: the mempool refused it (full, cached, too big).
		return answer{outcome: refused, reason: rpcErr.Data}
	case err != nil:
		return answer{outcome: sendError, reason: err.Error()}
	case res.Code != 0:
		return answer{outcome: refused, code: res.Code, reason: fmt.Sprintf("%s code %d", res.Codespace, res.Code)}
	}
	return answer{outcome: accepted}
}

// ledgerClient is the ledger client over this endpoint's RPC.
func (e *endpoint) ledgerClient() *client.Client { return client.New(e.rpc) }

// status asks the node for its chain ID and height.
func (e *endpoint) status(ctx context.Context) (*ctypes.ResultStatus, error) {
	return e.rpc.Status(ctx)
}

// peers is the node's peer count from net_info, or -1 if it does not answer within half a
// second (the live line must not wait for a stalled node).
func (e *endpoint) peers() int {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	ni, err := e.rpc.NetInfo(ctx)
	if err != nil {
		return -1
	}
	return ni.NPeers
}
