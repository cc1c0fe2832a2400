package load

import (
	"context"
	"fmt"
	"sync"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	jsonrpcclient "github.com/cometbft/cometbft/rpc/jsonrpc/client"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
)

// wsBroadcaster sends broadcast_tx_sync over one websocket per endpoint (--transport ws),
// as clients that keep a websocket open do, instead of one HTTP request each. Requests
// carry our own IDs so that each answer, which arrives in whatever order the node sends
// it, reaches the send waiting for it.
type wsBroadcaster struct {
	c       *jsonrpcclient.WSClient
	mu      sync.Mutex
	next    int
	waiting map[int]chan rpctypes.RPCResponse
	done    chan struct{}
}

func dialWS(url string) (*wsBroadcaster, error) {
	c, err := jsonrpcclient.NewWS(url, "/websocket")
	if err != nil {
		return nil, fmt.Errorf("load: %s: websocket: %w", url, err)
	}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("load: %s: websocket: %w", url, err)
	}
	b := &wsBroadcaster{c: c, waiting: map[int]chan rpctypes.RPCResponse{}, done: make(chan struct{})}
	go b.dispatch()
	return b, nil
}

// dispatch hands each answer to its waiting send; answers nobody waits for any more (the
// send timed out) are dropped.
func (b *wsBroadcaster) dispatch() {
	for {
		select {
		case resp := <-b.c.ResponsesCh:
			id, ok := resp.ID.(rpctypes.JSONRPCIntID)
			if !ok {
				continue
			}
			b.mu.Lock()
			ch := b.waiting[int(id)]
			delete(b.waiting, int(id))
			b.mu.Unlock()
			if ch != nil {
				ch <- resp
			}
		case <-b.done:
			return
		}
	}
}

func (b *wsBroadcaster) broadcast(ctx context.Context, raw []byte) answer {
	ch := make(chan rpctypes.RPCResponse, 1)
	b.mu.Lock()
	b.next++
	id := b.next
	b.waiting[id] = ch
	b.mu.Unlock()
	forget := func() { b.mu.Lock(); delete(b.waiting, id); b.mu.Unlock() }
	req, err := rpctypes.MapToRequest(rpctypes.JSONRPCIntID(id), "broadcast_tx_sync", map[string]any{"tx": raw})
	if err != nil {
		forget()
		return answer{outcome: sendError, reason: err.Error()}
	}
	if err := b.c.Send(ctx, req); err != nil {
		forget()
		return answer{outcome: sendError, reason: err.Error()}
	}
	select {
	case resp := <-ch:
		if resp.Error != nil {
			// The node answered with an error: the mempool refused it (full, cached, too big).
			return answer{outcome: refused, reason: resp.Error.Data}
		}
		var res ctypes.ResultBroadcastTx
		if err := cmtjson.Unmarshal(resp.Result, &res); err != nil {
			return answer{outcome: sendError, reason: fmt.Sprintf("malformed broadcast_tx_sync result: %v", err)}
		}
		if res.Code != 0 {
			return answer{outcome: refused, code: res.Code, reason: fmt.Sprintf("%s code %d", res.Codespace, res.Code)}
		}
		return answer{outcome: accepted}
	case <-ctx.Done():
		forget()
		return answer{outcome: sendError, reason: ctx.Err().Error()}
	}
}

func (b *wsBroadcaster) close() {
	close(b.done)
	_ = b.c.Stop()
}
