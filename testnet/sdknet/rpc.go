package sdknet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// rpcCall posts a JSON-RPC 2.0 request to a node's RPC and decodes the result into out.
func rpcCall(ctx context.Context, url, method string, params map[string]any, out any) error {
	if params == nil {
		params = map[string]any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return err
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("%s at %s: %v: %.300s", method, url, err, b)
	}
	if env.Error != nil {
		return fmt.Errorf("%s at %s: RPC error %d: %s %s", method, url, env.Error.Code, env.Error.Message, env.Error.Data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Result, out); err != nil {
		return fmt.Errorf("%s at %s: result: %v: %.300s", method, url, err, env.Result)
	}
	return nil
}

// int64s is an integer that CometBFT's JSON writes as a string.
type int64s int64

func (v *int64s) UnmarshalJSON(b []byte) error {
	s := string(b)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	n, err := strconv.ParseInt(s, 10, 64)
	*v = int64s(n)
	return err
}

type statusResult struct {
	SyncInfo struct {
		LatestBlockHeight int64s `json:"latest_block_height"`
		LatestAppHash     string `json:"latest_app_hash"`
		CatchingUp        bool   `json:"catching_up"`
	} `json:"sync_info"`
}

func rpcHeight(ctx context.Context, url string) (int64, error) {
	var st statusResult
	if err := rpcCall(ctx, url, "status", nil, &st); err != nil {
		return 0, err
	}
	return int64(st.SyncInfo.LatestBlockHeight), nil
}

// blockHeader is the part of /block the tests compare across nodes.
type blockHeader struct {
	Hash    string
	Height  int64
	AppHash string
	Time    string
}

func rpcBlock(ctx context.Context, url string, height int64) (blockHeader, error) {
	var r struct {
		BlockID struct {
			Hash string `json:"hash"`
		} `json:"block_id"`
		Block struct {
			Header struct {
				Height  int64s `json:"height"`
				AppHash string `json:"app_hash"`
				Time    string `json:"time"`
			} `json:"header"`
		} `json:"block"`
	}
	if err := rpcCall(ctx, url, "block", map[string]any{"height": strconv.FormatInt(height, 10)}, &r); err != nil {
		return blockHeader{}, err
	}
	h := r.Block.Header
	if int64(h.Height) != height {
		return blockHeader{}, fmt.Errorf("block at %s: asked for height %d, got %d", url, height, h.Height)
	}
	return blockHeader{Hash: r.BlockID.Hash, Height: int64(h.Height), AppHash: h.AppHash, Time: h.Time}, nil
}

// rpcValidator is one entry of /validators.
type rpcValidator struct {
	Address     string `json:"address"`
	VotingPower int64s `json:"voting_power"`
}

// rpcValidators is the whole validator set at height (every page).
func rpcValidators(ctx context.Context, url string, height int64) ([]rpcValidator, error) {
	var all []rpcValidator
	for page := 1; ; page++ {
		var r struct {
			BlockHeight int64s         `json:"block_height"`
			Validators  []rpcValidator `json:"validators"`
			Total       int64s         `json:"total"`
		}
		params := map[string]any{"height": strconv.FormatInt(height, 10), "page": strconv.Itoa(page), "per_page": "100"}
		if err := rpcCall(ctx, url, "validators", params, &r); err != nil {
			return nil, err
		}
		all = append(all, r.Validators...)
		if len(r.Validators) == 0 || int64(len(all)) >= int64(r.Total) {
			return all, nil
		}
	}
}

// broadcastResult is broadcast_tx_sync's answer: CheckTx's code and log.
type broadcastResult struct {
	Code int    `json:"code"`
	Log  string `json:"log"`
	Hash string `json:"hash"`
}

func rpcBroadcastSync(ctx context.Context, url string, tx []byte) (broadcastResult, error) {
	var r broadcastResult
	err := rpcCall(ctx, url, "broadcast_tx_sync", map[string]any{"tx": base64.StdEncoding.EncodeToString(tx)}, &r)
	return r, err
}

// committedTx is /tx's answer for a committed transaction.
type committedTx struct {
	Height int64
	Code   int
	Log    string
}

// rpcTx looks a transaction up by its hash (hex); found is false while it is not committed.
func rpcTx(ctx context.Context, url, hashHex string) (tx committedTx, found bool, err error) {
	hash, err := hex.DecodeString(hashHex)
	if err != nil {
		return tx, false, err
	}
	var r struct {
		Height   int64s `json:"height"`
		TxResult struct {
			Code int    `json:"code"`
			Log  string `json:"log"`
		} `json:"tx_result"`
	}
	err = rpcCall(ctx, url, "tx", map[string]any{"hash": base64.StdEncoding.EncodeToString(hash), "prove": false}, &r)
	if err != nil {
		// CometBFT answers an unknown hash with an RPC error "tx (HASH) not found".
		if bytes.Contains([]byte(err.Error()), []byte("not found")) {
			return tx, false, nil
		}
		return tx, false, err
	}
	return committedTx{Height: int64(r.Height), Code: r.TxResult.Code, Log: r.TxResult.Log}, true, nil
}

// waitTx polls url until the transaction is committed or within passes.
func waitTx(ctx context.Context, url, hashHex string, within time.Duration) (committedTx, error) {
	deadline := time.Now().Add(within)
	for {
		tx, found, err := rpcTx(ctx, url, hashHex)
		if found {
			return tx, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return tx, fmt.Errorf("tx %s not committed at %s within %v (last error: %v)", hashHex, url, within, err)
			}
			return tx, fmt.Errorf("tx %s not committed at %s within %v", hashHex, url, within)
		}
		select {
		case <-ctx.Done():
			return tx, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func decodeBase64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// txHash is a transaction's hash as CometBFT names it: SHA-256, upper-case hex.
func txHash(tx []byte) string {
	h := sha256.Sum256(tx)
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

// mempoolHolds says whether node url's mempool lists tx (unconfirmed_txs), and its size.
func mempoolHolds(ctx context.Context, url string, tx []byte) (bool, int, error) {
	var r struct {
		Total int64s   `json:"total"`
		Txs   []string `json:"txs"`
	}
	if err := rpcCall(ctx, url, "unconfirmed_txs", map[string]any{"limit": "100"}, &r); err != nil {
		return false, 0, err
	}
	want := base64.StdEncoding.EncodeToString(tx)
	for _, t := range r.Txs {
		if t == want {
			return true, int(r.Total), nil
		}
	}
	return false, int(r.Total), nil
}
