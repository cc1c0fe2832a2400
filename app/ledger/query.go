package ledger

import (
	"context"
	"encoding/hex"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// QueryBalance is the query path for an account. Data is the address, 20 raw
// bytes or 40 hex characters; Height 0 means the last committed height. The
// value is a state.AccountRecord; with Prove, ProofOps holds one op of type
// state.ProofOpType that state.VerifyAccount checks against the app hash
// committed at that height (found in the header of the next height).
const QueryBalance = "/balance"

// Query answers QueryBalance.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	if req.Path != QueryBalance {
		return queryError(req, tx.Errorf(tx.CodeBadQuery, "unknown query path %q, want %q", req.Path, QueryBalance)), nil
	}
	addr, err := queryAddress(req.Data)
	if err != nil {
		return queryError(req, tx.Errorf(tx.CodeBadQuery, "%v", err)), nil
	}
	a.mu.Lock()
	acc, proof, height, err := a.store.AccountAt(req.Height, addr)
	a.mu.Unlock()
	if err != nil {
		return queryError(req, tx.Errorf(tx.CodeBadQuery, "%v", err)), nil
	}
	value, err := (&state.AccountRecord{Address: addr[:], Balance: acc.Balance, Nonce: acc.Nonce}).Marshal()
	if err != nil {
		return nil, err
	}
	resp := &abci.ResponseQuery{Code: uint32(tx.CodeOK), Key: addr[:], Value: value, Height: height}
	if req.Prove {
		raw, err := proof.Marshal()
		if err != nil {
			return nil, err
		}
		resp.ProofOps = &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{{Type: state.ProofOpType, Key: addr[:], Data: raw}}}
	}
	return resp, nil
}

func queryAddress(data []byte) (tx.Address, error) {
	switch len(data) {
	case tx.AddressSize:
		return tx.AddressFromBytes(data)
	case 2 * tx.AddressSize:
		b, err := hex.DecodeString(string(data))
		if err != nil {
			return tx.Address{}, fmt.Errorf("query data is not a hex address: %w", err)
		}
		return tx.AddressFromBytes(b)
	}
	return tx.Address{}, fmt.Errorf("query data must be a %d-byte address or its hex, got %d bytes", tx.AddressSize, len(data))
}

func queryError(req *abci.RequestQuery, e *tx.Error) *abci.ResponseQuery {
	return &abci.ResponseQuery{Code: uint32(e.Code), Codespace: tx.Codespace, Log: e.Msg, Height: req.Height}
}
