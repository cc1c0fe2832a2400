package load

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpcserver "github.com/cometbft/cometbft/rpc/jsonrpc/server"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// TestWebsocketBroadcastAnswers runs broadcasts over a websocket against cometbft's own
// JSON-RPC server, whose broadcast_tx_sync answers by the transaction: accepted, refused
// by CheckTx (a code), refused by the mempool (an RPC error), or too late. Concurrent
// sends over the one websocket each get their own answer, and a send whose answer comes
// after its deadline counts as a send error without disturbing the next one.
func TestWebsocketBroadcastAnswers(t *testing.T) {
	funcs := scriptedBroadcast()
	mux := http.NewServeMux()
	mux.HandleFunc("/websocket", rpcserver.NewWebsocketManager(funcs).WebsocketHandler)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b, err := dialWS(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	send := func(tx string, within time.Duration) answer {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		return b.broadcast(ctx, []byte(tx))
	}

	var wg sync.WaitGroup
	answers := make([]answer, 6)
	for i, tx := range []string{"slow-1", "ok-1", "slow-2", "ok-2", "code", "full"} {
		wg.Add(1)
		go func() { defer wg.Done(); answers[i] = send(tx, 5*time.Second) }()
	}
	wg.Wait()
	for i, want := range []outcome{accepted, accepted, accepted, accepted, refused, refused} {
		if answers[i].outcome != want {
			t.Errorf("send %d: %+v, want outcome %d", i, answers[i], want)
		}
	}
	if answers[4].code != 7 || !strings.Contains(answers[4].reason, "ledger code 7") {
		t.Errorf("CheckTx refusal: %+v", answers[4])
	}
	if !strings.Contains(answers[5].reason, "mempool is full") {
		t.Errorf("mempool refusal: %+v", answers[5])
	}
	if a := send("late", 200*time.Millisecond); a.outcome != sendError {
		t.Errorf("an answer after the deadline: %+v, want a send error", a)
	}
	if a := send("ok-3", 5*time.Second); a.outcome != accepted {
		t.Errorf("after a late answer: %+v", a)
	}
}

// scriptedBroadcast is a broadcast_tx_sync for cometbft's JSON-RPC server that answers by
// the transaction: "code" is refused by CheckTx (code 7), "full" by the mempool (an RPC
// error), "slow..." and "late" answer after 300 ms and 2 s, anything else is accepted.
func scriptedBroadcast() map[string]*rpcserver.RPCFunc {
	broadcast := func(_ *rpctypes.Context, tx cmttypes.Tx) (*ctypes.ResultBroadcastTx, error) {
		s := string(tx)
		switch {
		case strings.HasPrefix(s, "slow"):
			time.Sleep(300 * time.Millisecond)
		case s == "code":
			return &ctypes.ResultBroadcastTx{Code: 7, Codespace: "ledger"}, nil
		case s == "full":
			return nil, errors.New("mempool is full")
		case s == "late":
			time.Sleep(2 * time.Second)
		}
		return &ctypes.ResultBroadcastTx{Hash: tx.Hash()}, nil
	}
	return map[string]*rpcserver.RPCFunc{"broadcast_tx_sync": rpcserver.NewRPCFunc(broadcast, "tx")}
}
