// Package client talks to a node running the ledger over CometBFT's JSON-RPC
// (which Tutti serves too): it reads accounts, checks their Merkle proofs
// against the app hash in the next block header, and signs and broadcasts
// transfers. The CLI and the load generator use it.
package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/libs/bytes"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/app/ledger"
	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// RPC is the part of CometBFT's RPC client the ledger client uses;
// rpc/client/http.HTTP implements it.
type RPC interface {
	Status(ctx context.Context) (*ctypes.ResultStatus, error)
	ABCIQueryWithOptions(ctx context.Context, path string, data bytes.HexBytes, opts rpcclient.ABCIQueryOptions) (*ctypes.ResultABCIQuery, error)
	BroadcastTxSync(ctx context.Context, tx types.Tx) (*ctypes.ResultBroadcastTx, error)
	Commit(ctx context.Context, height *int64) (*ctypes.ResultCommit, error)
}

// Client reads and writes the ledger through one node.
type Client struct {
	rpc RPC
	// HeaderWait bounds how long a proven read waits for the header that
	// carries the app hash of the queried height (the next block).
	HeaderWait time.Duration
}

// Dial connects to a node's RPC address, e.g. http://127.0.0.1:26657.
func Dial(node string) (*Client, error) {
	r, err := rpchttp.New(node, "/websocket")
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", node, err)
	}
	return New(r), nil
}

// New wraps an RPC client.
func New(r RPC) *Client { return &Client{rpc: r, HeaderWait: 10 * time.Second} }

// ChainID asks the node which chain it runs.
func (c *Client) ChainID(ctx context.Context) (string, error) {
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("client: status: %w", err)
	}
	return st.NodeInfo.Network, nil
}

// Balance is an account as read from a node.
type Balance struct {
	Address tx.Address
	state.Account
	Height  int64  // the committed height the account was read at
	AppHash []byte // with a proof: the app hash it was verified against
}

// Account reads an account at the last committed height, unproven.
func (c *Client) Account(ctx context.Context, addr tx.Address) (Balance, error) {
	b, _, err := c.query(ctx, addr, false)
	return b, err
}

// ProvenAccount reads an account and verifies its Merkle proof against the
// app hash of the height it was read at, taken from the header of the next
// height. The header itself is trusted as the node serves it: checking its
// commit signatures is a light client's job.
func (c *Client) ProvenAccount(ctx context.Context, addr tx.Address) (Balance, error) {
	b, ops, err := c.query(ctx, addr, true)
	if err != nil {
		return b, err
	}
	appHash, err := c.appHashOf(ctx, b.Height)
	if err != nil {
		return b, err
	}
	if err := VerifyAccountProof(appHash, addr, b.Account, ops); err != nil {
		return b, fmt.Errorf("client: proof for %s at height %d: %w", addr, b.Height, err)
	}
	b.AppHash = appHash
	return b, nil
}

func (c *Client) query(ctx context.Context, addr tx.Address, prove bool) (Balance, *cmtcrypto.ProofOps, error) {
	res, err := c.rpc.ABCIQueryWithOptions(ctx, ledger.QueryBalance, addr[:], rpcclient.ABCIQueryOptions{Prove: prove})
	if err != nil {
		return Balance{}, nil, fmt.Errorf("client: query %s: %w", addr, err)
	}
	r := res.Response
	if r.Code != 0 {
		return Balance{}, nil, fmt.Errorf("client: query %s: code %d: %s", addr, r.Code, r.Log)
	}
	var rec state.AccountRecord
	if err := rec.Unmarshal(r.Value); err != nil || len(rec.Address) != tx.AddressSize {
		return Balance{}, nil, fmt.Errorf("client: query %s: malformed account record", addr)
	}
	if string(rec.Address) != string(addr[:]) {
		return Balance{}, nil, fmt.Errorf("client: asked for %s, node answered for %X", addr, rec.Address)
	}
	return Balance{Address: addr, Account: state.Account{Balance: rec.Balance, Nonce: rec.Nonce}, Height: r.Height}, r.ProofOps, nil
}

// appHashOf returns the app hash committed at height, which CometBFT (and
// Tutti) put in the header of height+1; it waits up to HeaderWait for it.
func (c *Client) appHashOf(ctx context.Context, height int64) ([]byte, error) {
	next := height + 1
	deadline := time.Now().Add(c.HeaderWait)
	for {
		res, err := c.rpc.Commit(ctx, &next)
		if err == nil && res.SignedHeader.Header != nil {
			return res.SignedHeader.Header.AppHash, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("client: no header at height %d to verify against: %v", next, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// VerifyAccountProof checks the ProofOps of a balance query against appHash.
func VerifyAccountProof(appHash []byte, addr tx.Address, acc state.Account, ops *cmtcrypto.ProofOps) error {
	if ops == nil || len(ops.Ops) != 1 {
		return errors.New("expected exactly one proof op")
	}
	op := ops.Ops[0]
	if op.Type != state.ProofOpType {
		return fmt.Errorf("proof op type %q, want %q", op.Type, state.ProofOpType)
	}
	if string(op.Key) != string(addr[:]) {
		return errors.New("proof op is for another key")
	}
	p, err := state.DecodeProof(op.Data)
	if err != nil {
		return err
	}
	return state.VerifyAccount(appHash, addr, acc, p)
}

// Send signs a transfer from key with the account's next committed nonce
// (or nonce, if not nil) and broadcasts it with broadcast_tx_sync. A CheckTx
// rejection is returned as an error carrying the result code and log.
func (c *Client) Send(ctx context.Context, key ed25519.PrivKey, to tx.Address, amount, fee uint64, memo string, nonce *uint64) (*ctypes.ResultBroadcastTx, error) {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	from := tx.AddressFromPubKey(key.PubKey().Bytes())
	n := uint64(0)
	if nonce != nil {
		n = *nonce
	} else {
		acc, err := c.Account(ctx, from)
		if err != nil {
			return nil, err
		}
		n = acc.Nonce
	}
	raw, err := tx.Sign(key, tx.Transfer{ChainId: chainID, To: to[:], Amount: amount, Fee: fee, Nonce: n, Memo: memo})
	if err != nil {
		return nil, err
	}
	res, err := c.rpc.BroadcastTxSync(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("client: broadcast: %w", err)
	}
	if res.Code != 0 {
		return res, fmt.Errorf("client: transfer rejected: code %d (%s): %s", res.Code, res.Codespace, res.Log)
	}
	return res, nil
}
