package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
)

// broadcastBatch sends raws with broadcast_tx_sync in one JSON-RPC batch request and
// classifies each answer. cometbft's batch client is not used: it reads a refused
// request's answer (an error, no result) as a success with code 0.
func (e *endpoint) broadcastBatch(ctx context.Context, raws [][]byte) []answer {
	out := make([]answer, len(raws))
	fail := func(reason string) []answer {
		for i := range out {
			out[i] = answer{outcome: sendError, reason: reason}
		}
		return out
	}
	reqs := make([]rpctypes.RPCRequest, len(raws))
	for i, raw := range raws {
		req, err := rpctypes.MapToRequest(rpctypes.JSONRPCIntID(i), "broadcast_tx_sync", map[string]any{"tx": raw})
		if err != nil {
			return fail(err.Error())
		}
		reqs[i] = req
	}
	body, err := json.Marshal(reqs)
	if err != nil {
		return fail(err.Error())
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return fail(err.Error())
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := e.hc.Do(hreq)
	if err != nil {
		return fail(err.Error())
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return fail(err.Error())
	}
	var answers []rpctypes.RPCResponse
	if err := json.Unmarshal(got, &answers); err != nil {
		// One answer comes as an object, not a list (cometbft writes it so): the answer
		// to a batch of one, or the refusal of the whole batch (too many requests, too
		// large), which names no request.
		var single rpctypes.RPCResponse
		if json.Unmarshal(got, &single) != nil {
			return fail(fmt.Sprintf("batch answer: %v", err))
		}
		if single.ID == nil && single.Error != nil {
			return fail(fmt.Sprintf("batch refused: %s", single.Error.Data))
		}
		answers = []rpctypes.RPCResponse{single}
	}
	for i := range out {
		out[i] = answer{outcome: sendError, reason: "no answer in the batch"}
	}
	for _, a := range answers {
		id, ok := a.ID.(rpctypes.JSONRPCIntID)
		if !ok || id < 0 || int(id) >= len(out) {
			continue
		}
		var res ctypes.ResultBroadcastTx
		switch {
		case a.Error != nil:
			out[id] = answer{outcome: refused, reason: a.Error.Data}
		case cmtjson.Unmarshal(a.Result, &res) != nil:
			out[id] = answer{outcome: sendError, reason: "undecodable result"}
		case res.Code != 0:
			out[id] = answer{outcome: refused, code: res.Code, reason: fmt.Sprintf("%s code %d", res.Codespace, res.Code)}
		default:
			out[id] = answer{outcome: accepted}
		}
	}
	return out
}
