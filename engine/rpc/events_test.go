package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	jsonrpcclient "github.com/cometbft/cometbft/rpc/jsonrpc/client"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// nextEvent waits for one event of a subscription.
func nextEvent(t *testing.T, ch <-chan ctypes.ResultEvent, what string) ctypes.ResultEvent {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s event within 10 s", what)
	}
	return ctypes.ResultEvent{}
}

// TestWebsocketSubscriptions subscribes through cometbft's client to every event kind
// Tutti publishes, and checks each against the block it describes.
func TestWebsocketSubscriptions(t *testing.T) {
	tn := shared(t)
	c := tn.client(t)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop() }()
	ctx := context.Background()

	blocks, err := c.Subscribe(ctx, "test", "tm.event='NewBlock'", 100)
	if err != nil {
		t.Fatal(err)
	}
	headers, err := c.Subscribe(ctx, "test", "tm.event='NewBlockHeader'", 100)
	if err != nil {
		t.Fatal(err)
	}
	blockEvents, err := c.Subscribe(ctx, "test", "tm.event='NewBlockEvents' AND begin_event.foo EXISTS", 100)
	if err != nil {
		t.Fatal(err)
	}
	nb := nextEvent(t, blocks, "NewBlock").Data.(cmttypes.EventDataNewBlock)
	stored, err := c.Block(ctx, &nb.Block.Height)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(nb.BlockID.Hash, stored.BlockID.Hash) || !bytes.Equal(nb.Block.LastCommitHash, stored.Block.LastCommitHash) ||
		!bytes.Equal(nb.ResultFinalizeBlock.AppHash, mustResults(t, c, nb.Block.Height).AppHash) {
		t.Errorf("NewBlock of height %d differs from block %d as served", nb.Block.Height, stored.Block.Height)
	}
	nh := nextEvent(t, headers, "NewBlockHeader").Data.(cmttypes.EventDataNewBlockHeader)
	if nh.Header.Height < 1 || nh.Header.ChainID != "rpc-test-chain" {
		t.Errorf("NewBlockHeader %+v", nh.Header)
	}
	ne := nextEvent(t, blockEvents, "NewBlockEvents")
	if d := ne.Data.(cmttypes.EventDataNewBlockEvents); d.Height < 1 || len(d.Events) == 0 || d.Events[0].Type != "begin_event" {
		t.Errorf("NewBlockEvents %+v", d)
	}

	// Tx, filtered by an app attribute.
	tx := uniqueTx(t, "ws")
	key := strings.SplitN(string(tx), "=", 2)[0]
	txQuery := fmt.Sprintf("tm.event='Tx' AND app.key='%s'", key)
	txs, err := c.Subscribe(ctx, "test", txQuery, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.BroadcastTxSync(ctx, tx); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, txs, "Tx")
	dt := ev.Data.(cmttypes.EventDataTx)
	if !bytes.Equal(dt.Tx, tx) || ev.Query != txQuery || ev.Events["tx.hash"][0] != fmt.Sprintf("%X", tx.Hash()) {
		t.Errorf("Tx event %+v", ev)
	}

	// ValidatorSetUpdates: the kvstore turns "val=type!key!power" into an update (the same
	// power here, so the chain keeps its one validator as it was).
	vals, err := c.Subscribe(ctx, "test", "tm.event='ValidatorSetUpdates'", 10)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := cryptoenc.PubKeyToProto(st.ValidatorInfo.PubKey)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.BroadcastTxSync(ctx, kvstore.MakeValSetChangeTx(pk, 10)); err != nil || res.Code != 0 {
		t.Fatalf("validator update tx: %+v, %v", res, err)
	}
	vu := nextEvent(t, vals, "ValidatorSetUpdates").Data.(cmttypes.EventDataValidatorSetUpdates)
	if len(vu.ValidatorUpdates) != 1 || !bytes.Equal(vu.ValidatorUpdates[0].Address, st.ValidatorInfo.Address) || vu.ValidatorUpdates[0].VotingPower != 10 {
		t.Errorf("ValidatorSetUpdates %+v", vu)
	}

	if err := c.Unsubscribe(ctx, "test", txQuery); err != nil {
		t.Errorf("unsubscribe: %v", err)
	}
	if err := c.UnsubscribeAll(ctx, "test"); err != nil {
		t.Errorf("unsubscribe_all: %v", err)
	}
}

func mustResults(t *testing.T, c interface {
	BlockResults(context.Context, *int64) (*ctypes.ResultBlockResults, error)
}, h int64) *ctypes.ResultBlockResults {
	t.Helper()
	r, err := c.BlockResults(context.Background(), &h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wsCall sends one request on a raw JSON-RPC websocket and returns the first response
// with its id (events of earlier subscriptions are skipped).
func wsCall(t *testing.T, ws *jsonrpcclient.WSClient, id int, method string, params map[string]any) rpctypes.RPCResponse {
	t.Helper()
	raw, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	req := rpctypes.RPCRequest{JSONRPC: "2.0", ID: rpctypes.JSONRPCIntID(id), Method: method, Params: raw}
	if err := ws.Send(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case resp := <-ws.ResponsesCh:
			if resp.ID == rpctypes.JSONRPCIntID(id) {
				return resp
			}
		case <-timeout:
			t.Fatalf("no answer to %s within 10 s", method)
		}
	}
}

func dialWS(t *testing.T, tn *testNode) *jsonrpcclient.WSClient {
	t.Helper()
	ws, err := jsonrpcclient.NewWS("tcp://"+tn.addr, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Stop() })
	return ws
}

// TestSubscriptionLimits: a client gets CometBFT's 5 subscriptions, the sixth is refused
// with CometBFT's message; a query that does not parse and subscribe over plain HTTP are
// refused too; the connection stays usable.
func TestSubscriptionLimits(t *testing.T) {
	tn := shared(t)
	ws := dialWS(t, tn)
	for i := 0; i < 5; i++ {
		if r := wsCall(t, ws, i+1, "subscribe", map[string]any{"query": fmt.Sprintf("tm.event='Tx' AND app.key='limit%d'", i)}); r.Error != nil {
			t.Fatalf("subscription %d refused: %v", i+1, r.Error)
		}
	}
	r := wsCall(t, ws, 6, "subscribe", map[string]any{"query": "tm.event='Tx' AND app.key='limit5'"})
	if r.Error == nil || r.Error.Code != -32603 || !strings.Contains(r.Error.Data, "max_subscriptions_per_client 5 reached") {
		t.Errorf("sixth subscription: %+v", r.Error)
	}
	if r := wsCall(t, ws, 7, "unsubscribe_all", map[string]any{}); r.Error != nil {
		t.Fatalf("unsubscribe_all: %v", r.Error)
	}
	r = wsCall(t, ws, 8, "subscribe", map[string]any{"query": "tm.event = = 'Tx'"})
	if r.Error == nil || !strings.Contains(r.Error.Data, "failed to parse query") {
		t.Errorf("unparsable query: %+v", r.Error)
	}
	r = wsCall(t, ws, 9, "subscribe", map[string]any{"query": strings.Repeat("a", 600)})
	if r.Error == nil || !strings.Contains(r.Error.Data, "maximum query length exceeded") {
		t.Errorf("overlong query: %+v", r.Error)
	}
	if r := wsCall(t, ws, 10, "unsubscribe", map[string]any{"query": "tm.event='Tx'"}); r.Error == nil {
		t.Error("unsubscribe of a query never subscribed succeeded")
	}
	if r := wsCall(t, ws, 11, "health", map[string]any{}); r.Error != nil {
		t.Errorf("health over the websocket after refusals: %v", r.Error)
	}
	body := postJSON(t, tn.url, `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"query":"tm.event='Tx'"}}`)
	if !bytes.Contains(body, []byte(`-32601`)) {
		t.Errorf("subscribe over HTTP: %s (CometBFT: method not found, websocket only)", body)
	}
}
