package rpc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/merkle"
	cmttypes "github.com/cometbft/cometbft/types"
)

// These tests hold the JSON fields the Cosmos SDK CLI and CosmJS read to what CometBFT
// v0.38 returns, on the wire (raw JSON) where the client's decoding would hide the
// difference (null and [] decode alike).

// result decodes a raw JSON-RPC answer's result into a generic tree.
func result(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var resp struct {
		Result map[string]any  `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Result == nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	return resp.Result
}

// field walks a decoded JSON tree along a dotted path.
func field(t *testing.T, tree any, path string) any {
	t.Helper()
	cur := tree
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s: %q is not an object in %v", path, k, cur)
		}
		if cur, ok = m[k]; !ok {
			t.Fatalf("%s: no %q in %v", path, k, m)
		}
	}
	return cur
}

// isEmptyList fails unless v is a JSON [] (not null).
func isEmptyList(t *testing.T, where string, v any) {
	t.Helper()
	if l, ok := v.([]any); !ok || len(l) != 0 {
		t.Errorf("%s is %#v, want [] as CometBFT", where, v)
	}
}

// TestBlockEvidenceIsEmptyList: block.evidence.evidence is [] in every answer and event
// that carries a block.
func TestBlockEvidenceIsEmptyList(t *testing.T) {
	tn := shared(t)
	blk := result(t, getURL(t, tn.url+"/block?height=1"))
	isEmptyList(t, "block.evidence.evidence", field(t, blk, "block.evidence.evidence"))
	hash := field(t, blk, "block_id.hash").(string)
	isEmptyList(t, "block_by_hash: block.evidence.evidence",
		field(t, result(t, getURL(t, tn.url+"/block_by_hash?hash=0x"+hash)), "block.evidence.evidence"))

	found := result(t, getURL(t, tn.url+`/block_search?query="block.height=1"`))
	blocks, ok := field(t, found, "blocks").([]any)
	if !ok || len(blocks) != 1 {
		t.Fatalf("block_search: %v", found)
	}
	isEmptyList(t, "block_search: block.evidence.evidence", field(t, blocks[0], "block.evidence.evidence"))

	ws := dialWS(t, tn)
	if r := wsCall(t, ws, 1, "subscribe", map[string]any{"query": "tm.event='NewBlock'"}); r.Error != nil {
		t.Fatal(r.Error)
	}
	select {
	case ev := <-ws.ResponsesCh:
		var tree map[string]any
		if err := json.Unmarshal(ev.Result, &tree); err != nil {
			t.Fatal(err)
		}
		isEmptyList(t, "NewBlock event: block.evidence.evidence", field(t, tree, "data.value.block.evidence.evidence"))
	case <-time.After(10 * time.Second):
		t.Fatal("no NewBlock event within 10 s")
	}
}

// TestBlockOneLastResultsHash: the initial height's last_results_hash is the Merkle root of
// no results, as CometBFT sets it after InitChain.
func TestBlockOneLastResultsHash(t *testing.T) {
	tn := shared(t)
	got := field(t, result(t, getURL(t, tn.url+"/block?height=1")), "block.header.last_results_hash")
	const empty = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855" // sha256 of nothing
	if got != empty || fmt.Sprintf("%X", merkle.HashFromByteSlices(nil)) != empty || fmt.Sprintf("%X", cmttypes.NewResults(nil).Hash()) != empty {
		t.Errorf("height 1 last_results_hash %v, want %s", got, empty)
	}
	h, err := tn.client(t).Header(context.Background(), ptr(int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%X", h.Header.LastResultsHash) != empty {
		t.Errorf("header(1).last_results_hash %X", h.Header.LastResultsHash)
	}
}
