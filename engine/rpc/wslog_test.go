package rpc

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/engine/logging"
)

// A slow client's write timeout used to log the whole undelivered event: 534 KB in one line
// for a NewBlock. The line names the client, the event type and the size instead.
func TestASlowClientsLostEventIsLoggedByItsSize(t *testing.T) {
	var out bytes.Buffer
	logger := wsLogger{logging.Comet(zerolog.New(&out))}.With("remote", "192.0.2.7:40001")
	block := &cmttypes.Block{Data: cmttypes.Data{Txs: []cmttypes.Tx{bytes.Repeat([]byte("x"), 500_000)}}}
	resp := rpctypes.NewRPCSuccessResponse(rpctypes.JSONRPCIntID(3),
		&ctypes.ResultEvent{Query: "tm.event='NewBlock'", Data: cmttypes.EventDataNewBlock{Block: block}})
	t.Logf("the event is %d bytes", len(resp.Result))
	if len(resp.Result) < 500_000 {
		t.Fatalf("the test event is only %d bytes", len(resp.Result))
	}
	// What cometbft's websocket write routine logs when the write times out.
	logger.Error("Failed to write response", "err", errors.New("i/o timeout"), "msg", resp)
	line := out.String()
	if len(line) > 1000 {
		t.Fatalf("the log line is %d bytes, want a short one", len(line))
	}
	for _, want := range []string{"192.0.2.7:40001", "tendermint/event/NewBlock", "bytes", "i/o timeout"} {
		if !strings.Contains(line, want) {
			t.Fatalf("the line lacks %q: %s", want, line)
		}
	}
}
