package sdknet

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCLI drives the chain with simd's own CLI through Tutti's RPC: a bank send from
// node0's key commits with code 0 and moves the balances by exactly the amount (and the
// fee); `q tx`, `q txs --query`, `q wait-tx` and `status` each succeed and name that
// transaction (or the chain).
func TestCLI(t *testing.T) {
	c := sharedChain(t)
	ctx := context.Background()
	const node, amount = 1, 123457
	from, err := c.keyAddress(ctx, 0, "node0", "acc")
	if err != nil {
		t.Fatal(err)
	}
	to := newAddress(t, c, 0)
	fromBefore, err := c.balance(ctx, node, from, "stake")
	if err != nil {
		t.Fatal(err)
	}
	toBefore, err := c.balance(ctx, node, to, "stake")
	if err != nil {
		t.Fatal(err)
	}

	sent, err := c.tx(ctx, 0, node, "bank", "send", "node0", to, fmt.Sprintf("%dstake", amount))
	if err != nil {
		t.Fatal(err)
	}
	if sent.Code != 0 || len(sent.TxHash) != 64 {
		t.Fatalf("tx bank send: code %d (%s) %s, hash %q", sent.Code, sent.Codespace, sent.RawLog, sent.TxHash)
	}
	t.Logf("tx bank send: accepted %s", sent.TxHash)

	// q wait-tx: subscribes over the websocket (or finds it committed already).
	var waited txResponse
	b, err := c.simdCmd(ctx, "q", "wait-tx", sent.TxHash, "--node", c.nodeFlag(node), "--timeout", "60s", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lastJSON(b), &waited); err != nil {
		t.Fatalf("q wait-tx: %v: %s", err, b)
	}
	if waited.Code != 0 || waited.Height <= 0 || !strings.EqualFold(waited.TxHash, sent.TxHash) {
		t.Fatalf("q wait-tx: code %d height %d hash %s (%s), want %s committed with code 0", waited.Code, waited.Height, waited.TxHash, waited.RawLog, sent.TxHash)
	}
	t.Logf("q wait-tx: committed at height %d", waited.Height)

	// q tx HASH, on another node.
	var got txResponse
	if err := c.queryJSON(ctx, 2, &got, "tx", sent.TxHash); err != nil {
		t.Fatal(err)
	}
	if got.Code != 0 || got.Height != waited.Height || !strings.EqualFold(got.TxHash, sent.TxHash) {
		t.Errorf("q tx: code %d height %d hash %s, want code 0 at height %d, %s", got.Code, got.Height, got.TxHash, waited.Height, sent.TxHash)
	}

	// q txs: by the transfer's recipient, new to this test, so exactly this transaction.
	query := fmt.Sprintf("transfer.recipient='%s'", to)
	var found struct {
		TotalCount int64s       `json:"total_count"`
		Txs        []txResponse `json:"txs"`
	}
	if err := c.queryJSON(ctx, 3, &found, "txs", "--query", query); err != nil {
		t.Fatal(err)
	}
	if found.TotalCount != 1 || len(found.Txs) != 1 || !strings.EqualFold(found.Txs[0].TxHash, sent.TxHash) || found.Txs[0].Height != waited.Height {
		t.Errorf("q txs --query %q: %d found %+v, want only %s at height %d", query, found.TotalCount, found.Txs, sent.TxHash, waited.Height)
	}

	// The balances, once every node used here has executed the height.
	if err := waitHeightAll(ctx, c, []int{0, 1, 2, 3}, int64(waited.Height), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	fromAfter, err := c.balance(ctx, node, from, "stake")
	if err != nil {
		t.Fatal(err)
	}
	toAfter, err := c.balance(ctx, 0, to, "stake")
	if err != nil {
		t.Fatal(err)
	}
	if toAfter-toBefore != amount || fromBefore-fromAfter != amount+txFeeAmount {
		t.Errorf("balances: recipient %d -> %d (want +%d), sender %d -> %d (want -%d)", toBefore, toAfter, amount, fromBefore, fromAfter, amount+txFeeAmount)
	}

	// simd status.
	b, err = c.simdCmd(ctx, "status", "--node", c.nodeFlag(node))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		NodeInfo struct {
			Network string `json:"network"`
		} `json:"node_info"`
		SyncInfo struct {
			LatestBlockHeight int64s `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if err := json.Unmarshal(lastJSON(b), &st); err != nil {
		t.Fatalf("status: %v: %s", err, b)
	}
	if st.NodeInfo.Network != c.chainID || st.SyncInfo.LatestBlockHeight < waited.Height {
		t.Errorf("status: network %q at height %d, want %q at %d or later", st.NodeInfo.Network, st.SyncInfo.LatestBlockHeight, c.chainID, waited.Height)
	}
}

// newAddress adds a fresh key to node k's keyring and returns its address.
func newAddress(t *testing.T, c *chain, k int) string {
	t.Helper()
	name := "key-" + randomHex(4)
	if _, err := c.simdCmd(context.Background(), "keys", "add", name, "--keyring-backend", "test", "--home", c.nodes[k].simdHome, "--output", "json"); err != nil {
		t.Fatal(err)
	}
	addr, err := c.keyAddress(context.Background(), k, name, "acc")
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// waitHeightAll waits until each of the nodes reports height h.
func waitHeightAll(ctx context.Context, c *chain, nodes []int, h int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		low, at := int64(-1), -1
		for _, i := range nodes {
			got, err := rpcHeight(ctx, c.rpc(i))
			if err != nil {
				got = 0
			}
			if low < 0 || got < low {
				low, at = got, i
			}
		}
		if low >= h {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d at height %d, not %d, after %v", at, low, h, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
