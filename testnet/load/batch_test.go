package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/libs/log"
	rpcserver "github.com/cometbft/cometbft/rpc/jsonrpc/server"
)

// TestBatchBroadcastAnswers sends batches to cometbft's own JSON-RPC server (batches of at
// most 5, scriptedBroadcast answering by the transaction): each request of a batch
// gets its own outcome (accepted, refused by CheckTx with a code, refused by the mempool
// with an error), a batch of one is answered too, and a batch over the server's limit is a send error for every one of
// its transactions, naming the refusal.
func TestBatchBroadcastAnswers(t *testing.T) {
	mux := http.NewServeMux()
	rpcserver.RegisterRPCFuncs(mux, scriptedBroadcast(), log.NewNopLogger())
	cfg := rpcserver.DefaultConfig()
	cfg.MaxRequestBatchSize = 5
	srv := httptest.NewServer(rpcserver.PreChecksHandler(mux, cfg))
	defer srv.Close()
	ep, err := dial(srv.URL, 4)
	if err != nil {
		t.Fatal(err)
	}
	raws := func(txs ...string) [][]byte {
		out := make([][]byte, len(txs))
		for i, tx := range txs {
			out[i] = []byte(tx)
		}
		return out
	}
	got := ep.broadcastBatch(context.Background(), raws("ok-1", "code", "full", "ok-2"))
	for i, want := range []outcome{accepted, refused, refused, accepted} {
		if got[i].outcome != want {
			t.Errorf("request %d: %+v, want outcome %d", i, got[i], want)
		}
	}
	if got[1].code != 7 || !strings.Contains(got[1].reason, "ledger code 7") || !strings.Contains(got[2].reason, "mempool is full") {
		t.Errorf("refusals: %+v, %+v", got[1], got[2])
	}
	if a := ep.broadcastBatch(context.Background(), raws("alone")); a[0].outcome != accepted {
		t.Errorf("a batch of one (answered with an object, not a list): %+v", a[0])
	}
	for i, a := range ep.broadcastBatch(context.Background(), raws("a", "b", "c", "d", "e", "f")) {
		if a.outcome != sendError || !strings.Contains(a.reason, "batch request exceeds maximum (5)") {
			t.Errorf("request %d of a batch over the limit: %+v", i, a)
		}
	}
}
