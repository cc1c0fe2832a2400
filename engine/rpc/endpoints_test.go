package rpc_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/version"
)

// These tests talk to a running node through cometbft's own client (rpc/client/http):
// if its decoding of our answers works, CometBFT's clients' does.

func ptr[T any](v T) *T { return &v }

// uniqueTx is a kvstore transaction no other test sends.
func uniqueTx(t *testing.T, tag string) cmttypes.Tx {
	return cmttypes.Tx(fmt.Sprintf("%s%d=%s", tag, time.Now().UnixNano(), strings.ReplaceAll(t.Name(), "/", "-")))
}

func TestInfoEndpoints(t *testing.T) {
	tn := shared(t)
	c := tn.client(t)
	ctx := context.Background()

	if _, err := c.Health(ctx); err != nil {
		t.Fatalf("health: %v", err)
	}

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.NodeInfo.Version, "0.38.") || st.NodeInfo.Version != version.CometBFTCompat {
		t.Errorf("node_info.version %q, want %q (CosmJS reads the 0.38. prefix)", st.NodeInfo.Version, version.CometBFTCompat)
	}
	if st.NodeInfo.Network != "rpc-test-chain" || st.NodeInfo.Moniker != "rpc-test" || !st.TxIndexEnabled() {
		t.Errorf("node_info %+v", st.NodeInfo)
	}
	si := st.SyncInfo
	if si.LatestBlockHeight < 2 || si.EarliestBlockHeight != 1 || len(si.LatestBlockHash) != 32 || si.CatchingUp {
		t.Errorf("sync_info %+v", si)
	}
	if st.ValidatorInfo.VotingPower != 10 || !bytes.Equal(st.ValidatorInfo.Address, st.ValidatorInfo.PubKey.Address()) {
		t.Errorf("validator_info %+v", st.ValidatorInfo)
	}
	latest, err := c.Block(ctx, &si.LatestBlockHeight)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(latest.BlockID.Hash, si.LatestBlockHash) || !latest.Block.Time.Equal(si.LatestBlockTime) {
		t.Errorf("status latest block %X at %v, block says %X at %v", si.LatestBlockHash, si.LatestBlockTime, latest.BlockID.Hash, latest.Block.Time)
	}

	ni, err := c.NetInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ni.Listening || len(ni.Listeners) != 1 || ni.NPeers != 0 {
		t.Errorf("net_info %+v (one validator: no peers)", ni)
	}

	g, err := c.Genesis(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g.Genesis.ChainID != "rpc-test-chain" || len(g.Genesis.Validators) != 1 || g.Genesis.Validators[0].Power != 10 {
		t.Errorf("genesis %+v", g.Genesis)
	}
	chunk, err := c.GenesisChunked(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(chunk.Data)
	if err != nil || chunk.TotalChunks != 1 || !bytes.Contains(raw, []byte(`"chain_id":"rpc-test-chain"`)) {
		t.Errorf("genesis_chunked: %d chunks, %v, %.200s", chunk.TotalChunks, err, raw)
	}
	if _, err := c.GenesisChunked(ctx, 1); err == nil || !strings.Contains(err.Error(), "chunk 1 is invalid: the genesis has 1 chunk(s), numbered from 0 to 0") {
		t.Errorf("genesis_chunked 1 of 1: %v", err)
	}

	info, err := c.ABCIInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Response.LastBlockHeight < 2 {
		t.Errorf("abci_info %+v", info.Response)
	}

	params, err := c.ConsensusParams(ctx, ptr(int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	if params.BlockHeight != 1 || params.ConsensusParams.Block.MaxBytes != cmttypes.DefaultConsensusParams().Block.MaxBytes {
		t.Errorf("consensus_params %+v", params)
	}
	// The header commits to the parameters of its height.
	b1, err := c.Block(ctx, ptr(int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Block.ConsensusHash, params.ConsensusParams.Hash()) {
		t.Errorf("header consensus_hash %X, params hash %X", b1.Block.ConsensusHash, params.ConsensusParams.Hash())
	}
	if _, err := c.ConsensusParams(ctx, nil); err != nil {
		t.Errorf("consensus_params of the next height: %v", err)
	}
}

func TestBlockEndpoints(t *testing.T) {
	tn := shared(t)
	c := tn.client(t)
	ctx := context.Background()
	tn.waitHeight(t, 4)

	b2, err := c.Block(ctx, ptr(int64(2)))
	if err != nil {
		t.Fatal(err)
	}
	b3, err := c.Block(ctx, ptr(int64(3)))
	if err != nil {
		t.Fatal(err)
	}
	h := b3.Block.Header
	switch {
	case h.Height != 3 || h.ChainID != "rpc-test-chain":
		t.Errorf("header %d %q", h.Height, h.ChainID)
	case !bytes.Equal(h.LastBlockID.Hash, b2.BlockID.Hash):
		t.Errorf("block 3 last_block_id %X, block 2's id %X: the chain does not link", h.LastBlockID.Hash, b2.BlockID.Hash)
	case !bytes.Equal(h.DataHash, b3.Block.Data.Hash()):
		t.Errorf("data_hash %X, txs hash %X", h.DataHash, b3.Block.Data.Hash())
	case !bytes.Equal(h.LastCommitHash, b3.Block.LastCommit.Hash()):
		t.Errorf("last_commit_hash does not match last_commit")
	case b3.Block.LastCommit.Height != 2 || !bytes.Equal(b3.Block.LastCommit.BlockID.Hash, b2.BlockID.Hash):
		t.Errorf("last_commit %+v", b3.Block.LastCommit)
	case len(b3.Block.LastCommit.Signatures) != 1 || b3.Block.LastCommit.Signatures[0].BlockIDFlag != cmttypes.BlockIDFlagCommit:
		t.Errorf("last_commit signatures %+v, want the one validator COMMIT", b3.Block.LastCommit.Signatures)
	case !bytes.Equal(h.ProposerAddress, b3.Block.LastCommit.Signatures[0].ValidatorAddress):
		t.Errorf("proposer %X is not the only validator", h.ProposerAddress)
	case !b2.Block.Time.Before(h.Time):
		t.Errorf("block times %v then %v", b2.Block.Time, h.Time)
	}

	byHash, err := c.BlockByHash(ctx, b3.BlockID.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if byHash.Block == nil || byHash.Block.Height != 3 || !bytes.Equal(byHash.BlockID.Hash, b3.BlockID.Hash) {
		t.Errorf("block_by_hash %+v", byHash.BlockID)
	}
	if none, err := c.BlockByHash(ctx, make([]byte, 32)); err != nil || none.Block != nil {
		t.Errorf("block_by_hash of an unknown hash: %v, %v (CometBFT answers an empty result)", none, err)
	}
	hdr, err := c.Header(ctx, ptr(int64(3)))
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Header.Height != 3 || !bytes.Equal(hdr.Header.AppHash, h.AppHash) {
		t.Errorf("header %+v", hdr.Header)
	}
	hdrByHash, err := c.HeaderByHash(ctx, b3.BlockID.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if hdrByHash.Header == nil || hdrByHash.Header.Height != 3 {
		t.Errorf("header_by_hash %+v", hdrByHash)
	}

	chain, err := c.BlockchainInfo(ctx, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain.BlockMetas) != 3 || chain.BlockMetas[0].Header.Height != 3 || chain.BlockMetas[2].Header.Height != 1 ||
		!bytes.Equal(chain.BlockMetas[0].BlockID.Hash, b3.BlockID.Hash) || chain.LastHeight < 4 {
		t.Errorf("blockchain 1..3: %d metas, last %d", len(chain.BlockMetas), chain.LastHeight)
	}
	if _, err := c.BlockchainInfo(ctx, 5, 2); err == nil {
		t.Error("blockchain 5..2 succeeded")
	}

	res, err := c.BlockResults(ctx, ptr(int64(3)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Height != 3 || len(res.FinalizeBlockEvents) == 0 || res.FinalizeBlockEvents[0].Type != "begin_event" {
		t.Errorf("block_results %+v", res)
	}
	b4, err := c.Block(ctx, ptr(int64(4)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b4.Block.AppHash, res.AppHash) {
		t.Errorf("block 4's app_hash %X is not height 3's result %X", b4.Block.AppHash, res.AppHash)
	}

	// commit h: the validators whose attestations of h the next block ordered.
	cm, err := c.Commit(ctx, ptr(int64(3)))
	if err != nil {
		t.Fatal(err)
	}
	if !cm.CanonicalCommit || cm.Header.Height != 3 || cm.Commit.Height != 3 || !bytes.Equal(cm.Commit.BlockID.Hash, b3.BlockID.Hash) ||
		len(cm.Commit.Signatures) != 1 || cm.Commit.Signatures[0].BlockIDFlag != cmttypes.BlockIDFlagCommit ||
		len(cm.Commit.Signatures[0].Signature) != 0 {
		t.Errorf("commit 3: %+v", cm)
	}
	if !bytes.Equal(cm.Commit.Hash(), b4.Block.LastCommitHash) {
		t.Error("commit 3 is not block 4's last_commit")
	}
	if latest, err := c.Commit(ctx, nil); err != nil || latest.CanonicalCommit {
		t.Errorf("commit of the latest height: %v, canonical %v (no later block has ordered its attestations)", err, latest != nil && latest.CanonicalCommit)
	}

	vals, err := c.Validators(ctx, ptr(int64(3)), ptr(1), ptr(10))
	if err != nil {
		t.Fatal(err)
	}
	if vals.BlockHeight != 3 || vals.Count != 1 || vals.Total != 1 || vals.Validators[0].VotingPower != 10 {
		t.Errorf("validators %+v", vals)
	}
	if _, err := c.Validators(ctx, ptr(int64(3)), ptr(2), ptr(10)); err == nil || !strings.Contains(err.Error(), "page should be within [1, 1] range, given 2") {
		t.Errorf("validators page 2 of 1: %v", err)
	}
	if !bytes.Equal(h.ValidatorsHash, cmttypes.NewValidatorSet(vals.Validators).Hash()) {
		t.Error("header validators_hash is not the hash of the validators endpoint's set")
	}

	for _, bad := range []int64{0, -1, 1 << 40} {
		if _, err := c.Block(ctx, &bad); err == nil {
			t.Errorf("block at height %d succeeded", bad)
		}
	}
}

// TestBroadcastTxCommitThenFind is the acceptance test: a transaction sent with
// broadcast_tx_commit is found again with tx and tx_search.
func TestBroadcastTxCommitThenFind(t *testing.T) {
	tn := shared(t)
	c := tn.client(t)
	ctx := context.Background()
	tx := uniqueTx(t, "commit")
	res, err := c.BroadcastTxCommit(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	if res.CheckTx.Code != 0 || res.TxResult.Code != 0 || res.Height == 0 || !bytes.Equal(res.Hash, tx.Hash()) {
		t.Fatalf("broadcast_tx_commit %+v", res)
	}

	got, err := c.Tx(ctx, tx.Hash(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Tx, tx) || got.Height != res.Height || !bytes.Equal(got.Hash, tx.Hash()) {
		t.Fatalf("tx %+v", got)
	}
	blk, err := c.Block(ctx, &got.Height)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Proof.Validate(blk.Block.DataHash); err != nil {
		t.Errorf("tx proof against the block's data_hash: %v", err)
	}

	key := strings.SplitN(string(tx), "=", 2)[0]
	for _, q := range []string{
		fmt.Sprintf("tx.hash='%X'", tx.Hash()),
		fmt.Sprintf("app.key='%s'", key),
		fmt.Sprintf("app.key='%s' AND tx.height=%d", key, res.Height),
		fmt.Sprintf("tx.height=%d AND app.creator='Cosmoshi'", res.Height),
	} {
		found, err := c.TxSearch(ctx, q, true, nil, nil, "")
		if err != nil {
			t.Fatalf("tx_search %s: %v", q, err)
		}
		if found.TotalCount < 1 || !containsTx(found.Txs, tx) {
			t.Errorf("tx_search %s: %d results without the tx", q, found.TotalCount)
		}
	}
	if _, err := c.Tx(ctx, make([]byte, 32), false); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("tx of an unknown hash: %v", err)
	}
	// Refused by the app's CheckTx: the answer carries its code, nothing is waited for.
	refused, err := c.BroadcastTxCommit(ctx, cmttypes.Tx("no-separator"))
	if err != nil || refused.CheckTx.Code == 0 || refused.Height != 0 {
		t.Errorf("broadcast_tx_commit of an invalid tx: %+v, %v", refused, err)
	}
}

func containsTx(txs []*ctypes.ResultTx, tx cmttypes.Tx) bool {
	for _, r := range txs {
		if bytes.Equal(r.Tx, tx) {
			return true
		}
	}
	return false
}

func TestBroadcastAndMempoolEndpoints(t *testing.T) {
	tn := shared(t)
	c := tn.client(t)
	ctx := context.Background()

	check, err := c.CheckTx(ctx, uniqueTx(t, "check"))
	if err != nil || check.Code != 0 {
		t.Fatalf("check_tx: %+v, %v", check, err)
	}
	if bad, err := c.CheckTx(ctx, cmttypes.Tx("==")); err != nil || bad.Code == 0 {
		t.Errorf("check_tx of an invalid tx: %+v, %v", bad, err)
	}

	syncTx := uniqueTx(t, "sync")
	sync, err := c.BroadcastTxSync(ctx, syncTx)
	if err != nil || sync.Code != 0 || !bytes.Equal(sync.Hash, syncTx.Hash()) {
		t.Fatalf("broadcast_tx_sync: %+v, %v", sync, err)
	}
	if _, err := c.BroadcastTxSync(ctx, syncTx); err == nil || !strings.Contains(err.Error(), "already exists in cache") {
		t.Errorf("broadcast_tx_sync of a duplicate: %v", err)
	}
	if bad, err := c.BroadcastTxSync(ctx, cmttypes.Tx("no-separator")); err != nil || bad.Code == 0 {
		t.Errorf("broadcast_tx_sync of an invalid tx: %+v, %v", bad, err)
	}
	asyncTx := uniqueTx(t, "async")
	async, err := c.BroadcastTxAsync(ctx, asyncTx)
	if err != nil || !bytes.Equal(async.Hash, asyncTx.Hash()) {
		t.Fatalf("broadcast_tx_async: %+v, %v", async, err)
	}
	// Both commit: found by hash once executed.
	for _, tx := range []cmttypes.Tx{syncTx, asyncTx} {
		waitTx(t, c, tx)
	}

	n, err := c.NumUnconfirmedTxs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.UnconfirmedTxs(ctx, ptr(5))
	if err != nil {
		t.Fatal(err)
	}
	if n.Total < 0 || u.Count > 5 || u.Count != len(u.Txs) || u.Total < u.Count {
		t.Errorf("num_unconfirmed_txs %+v, unconfirmed_txs %+v", n, u)
	}
}

// TestUnconfirmedTxsListsPending: a transaction admitted and not yet executed is listed.
// It stays pending for a DAG round and a cut at least (tens of milliseconds); should one
// commit before the poll sees it, the next try sends another.
func TestUnconfirmedTxsListsPending(t *testing.T) {
	tn := shared(t)
	c := tn.client(t)
	ctx := context.Background()
	for try := 0; try < 20; try++ {
		tx := uniqueTx(t, "pending")
		if _, err := c.BroadcastTxSync(ctx, tx); err != nil {
			t.Fatal(err)
		}
		u, err := c.UnconfirmedTxs(ctx, ptr(100))
		if err != nil {
			t.Fatal(err)
		}
		n, err := c.NumUnconfirmedTxs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range u.Txs {
			if bytes.Equal(p, tx) {
				if u.Total < 1 || u.TotalBytes < int64(len(tx)) || n.Total < 0 {
					t.Errorf("unconfirmed_txs %+v, num_unconfirmed_txs %+v", u, n)
				}
				return
			}
		}
		waitTx(t, c, tx)
	}
	t.Fatal("20 transactions in a row committed before unconfirmed_txs listed them")
}

func waitTx(t *testing.T, c interface {
	Tx(context.Context, []byte, bool) (*ctypes.ResultTx, error)
}, tx cmttypes.Tx) *ctypes.ResultTx {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := c.Tx(context.Background(), tx.Hash(), false)
		if err == nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("tx %s not committed after 10 s: %v", tx, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestABCIQuery(t *testing.T) {
	tn := shared(t)
	c := tn.client(t)
	ctx := context.Background()
	tx := uniqueTx(t, "query")
	if _, err := c.BroadcastTxCommit(ctx, tx); err != nil {
		t.Fatal(err)
	}
	kv := strings.SplitN(string(tx), "=", 2)
	res, err := c.ABCIQuery(ctx, "", []byte(kv[0]))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Response.Value) != kv[1] || res.Response.Log != "exists" {
		t.Errorf("abci_query %s: %+v", kv[0], res.Response)
	}
	missing, err := c.ABCIQuery(ctx, "", []byte("never-written"))
	if err != nil || missing.Response.Log != "does not exist" {
		t.Errorf("abci_query of a missing key: %+v, %v", missing, err)
	}
	// The height and prove parameters reach the app (kvstore answers them alike).
	opts, err := c.ABCIQueryWithOptions(ctx, "", []byte(kv[0]), rpcclient.ABCIQueryOptions{Height: 1, Prove: true})
	if err != nil || string(opts.Response.Value) != kv[1] {
		t.Errorf("abci_query with height and prove: %+v, %v", opts, err)
	}
}

// TestJSONIsCometBFTs checks the wire form CometBFT's clients other than Go's rely on:
// int64 as strings, hashes as upper-case hex, the request id echoed.
func TestJSONIsCometBFTs(t *testing.T) {
	tn := shared(t)
	body := postJSON(t, tn.url, `{"jsonrpc":"2.0","id":"abc-7","method":"block","params":{"height":"2"}}`)
	var resp struct {
		ID     string `json:"id"`
		Result struct {
			BlockID struct {
				Hash string `json:"hash"`
			} `json:"block_id"`
			Block struct {
				Header struct {
					Height string `json:"height"`
				} `json:"header"`
			} `json:"block"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if resp.ID != "abc-7" || resp.Result.Block.Header.Height != "2" || len(resp.Result.BlockID.Hash) != 64 ||
		strings.ToUpper(resp.Result.BlockID.Hash) != resp.Result.BlockID.Hash {
		t.Errorf("block JSON: %s", body)
	}
	// URI form.
	get := getURL(t, tn.url+"/header?height=2")
	if !bytes.Contains(get, []byte(`"height":"2"`)) {
		t.Errorf("GET /header?height=2: %s", get)
	}
}
