package rpc

import (
	"encoding/json"
	"errors"
	"fmt"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/libs/service"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
)

// wsLogger passes the websocket manager's log through, with two changes:
//   - cometbft's manager stops every connection twice when a client goes away (the read
//     routine already stopped it) and logs the second stop's "already stopped" as an
//     ERROR. That is every ordinary disconnect, not an error an operator should see, so it
//     is logged at DEBUG.
//   - when a slow client's write times out it logs the whole undelivered response (half a
//     megabyte for one NewBlock event). A response is logged as its id, size and event
//     type instead; the connection's logger already names the client ("remote").
type wsLogger struct{ cmtlog.Logger }

func (l wsLogger) Debug(msg string, kv ...any) { l.Logger.Debug(msg, summarize(kv)...) }
func (l wsLogger) Info(msg string, kv ...any)  { l.Logger.Info(msg, summarize(kv)...) }

func (l wsLogger) Error(msg string, kv ...any) {
	kv = summarize(kv)
	if msg == "error while stopping connection" {
		for _, v := range kv {
			if err, ok := v.(error); ok && errors.Is(err, service.ErrAlreadyStopped) {
				l.Logger.Debug(msg, kv...)
				return
			}
		}
	}
	l.Logger.Error(msg, kv...)
}

func (l wsLogger) With(kv ...any) cmtlog.Logger { return wsLogger{l.Logger.With(summarize(kv)...)} }

// summarize replaces each RPC response among the values by a short description.
func summarize(kv []any) []any {
	out := kv
	for i := 1; i < len(kv); i += 2 {
		resp, ok := kv[i].(rpctypes.RPCResponse)
		if !ok {
			continue
		}
		if &out[0] == &kv[0] {
			out = append([]any(nil), kv...)
		}
		out[i] = describeResponse(resp)
	}
	return out
}

func describeResponse(resp rpctypes.RPCResponse) string {
	var event struct {
		Query string `json:"query"`
		Data  struct {
			Type string `json:"type"`
		} `json:"data"`
	}
	_ = json.Unmarshal(resp.Result, &event) // on the error path only; a non-event leaves both empty
	if event.Data.Type == "" {
		return fmt.Sprintf("response %v of %d bytes", resp.ID, len(resp.Result))
	}
	return fmt.Sprintf("response %v of %d bytes: event %s for query %q", resp.ID, len(resp.Result), event.Data.Type, event.Query)
}
