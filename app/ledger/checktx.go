package ledger

import (
	"context"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// CheckTx admits a transaction to the mempool if it would succeed after every
// transaction admitted before it: nonce and balance are checked against the
// pending view (committed state plus admitted transactions), so a client may
// send nonces n, n+1, n+2 back to back. After Commit the pending view restarts
// from the new state and CometBFT's rechecks (CheckTxType_Recheck) rebuild it
// in mempool order, dropping what became invalid. Signatures are verified
// outside the app lock and remembered for FinalizeBlock.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	t, _, txErr := a.checkStateless(req.Tx)
	if txErr != nil {
		return checkResult(txErr), nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	txErr, err := a.admit(a.pending, t)
	if err != nil {
		return nil, err
	}
	return checkResult(txErr), nil
}

// checkStateless decodes and verifies the signature (unless cached).
func (a *App) checkStateless(raw []byte) (*tx.Tx, [32]byte, *tx.Error) {
	h := tx.Hash(raw)
	t, txErr := tx.Decode(raw)
	if txErr != nil {
		return nil, h, txErr
	}
	if !a.sigs.contains(h) {
		if !t.VerifySignature() {
			return nil, h, tx.Errorf(tx.CodeBadSignature, "signature does not verify for sender %s", t.Sender())
		}
		a.sigs.add(h)
	}
	return t, h, nil
}

// admit applies t to the pending view if it is valid there. Called with mu held.
func (a *App) admit(pending *state.Overlay, t *tx.Tx) (*tx.Error, error) {
	if id := a.chainID(); t.Transfer.ChainId != id {
		return tx.Errorf(tx.CodeWrongChain, "chain_id %q, this chain is %q", t.Transfer.ChainId, id), nil
	}
	_, txErr, err := state.ApplyTransfer(pending, t)
	return txErr, err
}

func checkResult(e *tx.Error) *abci.ResponseCheckTx {
	if e != nil {
		return &abci.ResponseCheckTx{Code: uint32(e.Code), Codespace: tx.Codespace, Log: e.Msg}
	}
	return &abci.ResponseCheckTx{Code: uint32(tx.CodeOK), GasWanted: 1}
}

// mempoolBase is what the pending view starts from: the committed state, or
// the genesis staged by InitChain before the first commit.
type mempoolBase struct{ store *state.Store }

func (b mempoolBase) Account(addr tx.Address) (state.Account, error) {
	if b.store.Height() == 0 {
		return b.store.Staged().Account(addr)
	}
	return b.store.Account(addr)
}
