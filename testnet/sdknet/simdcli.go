package sdknet

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The simd CLI, run against node i's Tutti RPC with the keys of a node's simd home.

// queryJSON runs `simd q ARGS --node NODE -o json` against node i and decodes its output.
func (c *chain) queryJSON(ctx context.Context, i int, out any, args ...string) error {
	args = append(append([]string{"q"}, args...), "--node", c.nodeFlag(i), "-o", "json")
	b, err := c.simdCmd(ctx, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("simd %s: %v: %.500s", strings.Join(args, " "), err, b)
	}
	return nil
}

// txFlags are the flags every transaction of the tests carries: keys from node k's simd
// home, a fixed fee and gas, sent to node i.
func (c *chain) txFlags(k, i int) []string {
	return []string{"--home", c.nodes[k].simdHome, "--keyring-backend", "test", "--chain-id", c.chainID,
		"--node", c.nodeFlag(i), "--fees", txFee, "--gas", "200000", "--yes", "-o", "json"}
}

// txFee is what every test transaction pays.
const (
	txFee       = "500stake"
	txFeeAmount = 500
)

// txResponse is the SDK's TxResponse as the CLI prints it.
type txResponse struct {
	Height    int64s `json:"height"`
	TxHash    string `json:"txhash"`
	Code      int    `json:"code"`
	Codespace string `json:"codespace"`
	RawLog    string `json:"raw_log"`
}

// tx runs `simd tx ARGS` with node k's keys against node i and returns the broadcast's
// answer (CheckTx's, in sync mode).
func (c *chain) tx(ctx context.Context, k, i int, args ...string) (txResponse, error) {
	args = append(append([]string{"tx"}, args...), c.txFlags(k, i)...)
	b, err := c.simdCmd(ctx, args...)
	if err != nil {
		return txResponse{}, err
	}
	var r txResponse
	if err := json.Unmarshal(lastJSON(b), &r); err != nil {
		return r, fmt.Errorf("simd %s: %v: %.500s", strings.Join(args, " "), err, b)
	}
	return r, nil
}

// lastJSON is the last line of out that starts a JSON object (the CLI may print a
// gas estimate or a notice first).
func lastJSON(out []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "{") {
			return []byte(strings.Join(lines[i:], "\n"))
		}
	}
	return out
}

// keyAddress is the account address of key name in node k's keyring (bech "acc" or
// "val").
func (c *chain) keyAddress(ctx context.Context, k int, name, bech string) (string, error) {
	b, err := c.simdCmd(ctx, "keys", "show", name, "-a", "--bech", bech, "--keyring-backend", "test", "--home", c.nodes[k].simdHome)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// balance is addr's balance of denom as node i's app answers (0 if it holds none).
func (c *chain) balance(ctx context.Context, i int, addr, denom string) (int64, error) {
	var r struct {
		Balances []struct {
			Denom  string `json:"denom"`
			Amount string `json:"amount"`
		} `json:"balances"`
	}
	if err := c.queryJSON(ctx, i, &r, "bank", "balances", addr); err != nil {
		return 0, err
	}
	for _, b := range r.Balances {
		if b.Denom == denom {
			return strconv.ParseInt(b.Amount, 10, 64)
		}
	}
	return 0, nil
}

// account is addr's account number and next sequence.
func (c *chain) account(ctx context.Context, i int, addr string) (number, sequence int64, err error) {
	var r struct {
		Account json.RawMessage `json:"account"`
	}
	if err := c.queryJSON(ctx, i, &r, "auth", "account", addr); err != nil {
		return 0, 0, err
	}
	// v0.50 prints {"type": ..., "value": {...}}; older versions the account itself.
	var typed struct {
		Value json.RawMessage `json:"value"`
	}
	body := r.Account
	if json.Unmarshal(r.Account, &typed) == nil && len(typed.Value) > 0 {
		body = typed.Value
	}
	var a struct {
		AccountNumber int64s `json:"account_number"`
		Sequence      int64s `json:"sequence"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return 0, 0, fmt.Errorf("account %s: %v: %s", addr, err, r.Account)
	}
	return int64(a.AccountNumber), int64(a.Sequence), nil
}

// signedTransfers signs n transfers of amount from key from (in node k's keyring) to to,
// offline, with sequences seq, seq+1, ..., and returns their encoded bytes.
func (c *chain) signedTransfers(ctx context.Context, k int, from, to, amount string, accNum, seq int64, n int) ([][]byte, error) {
	home := c.nodes[k].simdHome
	dir, err := os.MkdirTemp(c.dir, "txs-")
	if err != nil {
		return nil, err
	}
	common := []string{"--home", home, "--keyring-backend", "test", "--offline", "--account-number", strconv.FormatInt(accNum, 10)}
	// (simd refuses --chain-id with --generate-only --offline; the signature carries it.)
	unsigned, err := c.simdCmd(ctx, append([]string{"tx", "bank", "send", from, to, amount, "--generate-only",
		"--fees", txFee, "--gas", "200000", "--sequence", strconv.FormatInt(seq, 10)}, common...)...)
	if err != nil {
		return nil, err
	}
	unsignedFile := filepath.Join(dir, "unsigned.json")
	if err := os.WriteFile(unsignedFile, unsigned, 0o600); err != nil {
		return nil, err
	}
	var txs [][]byte
	for j := range n {
		s := strconv.FormatInt(seq+int64(j), 10)
		signedFile := filepath.Join(dir, "signed-"+s+".json")
		if _, err := c.simdCmd(ctx, append([]string{"tx", "sign", unsignedFile, "--from", from, "--sequence", s,
			"--chain-id", c.chainID, "--output-document", signedFile}, common...)...); err != nil {
			return nil, err
		}
		b64, err := c.simdCmd(ctx, "tx", "encode", signedFile)
		if err != nil {
			return nil, err
		}
		tx, err := decodeBase64(strings.TrimSpace(string(b64)))
		if err != nil {
			return nil, fmt.Errorf("simd tx encode %s: %v", signedFile, err)
		}
		txs = append(txs, tx)
	}
	return txs, nil
}
