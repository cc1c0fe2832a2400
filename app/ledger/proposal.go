package ledger

import (
	"context"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// PrepareProposal keeps, in order, the offered transactions that would
// succeed in sequence on the last committed state, up to MaxTxBytes, so a
// proposal carries no transfer doomed to fail. Under Tutti this shapes one
// validator's DAG block; transfers from other validators' blocks can still
// fail at execution, which FinalizeBlock reports per transaction.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	scratch := state.NewOverlay(mempoolBase{a.store})
	var out [][]byte
	var size int64
	for _, raw := range req.Txs {
		if size+int64(len(raw)) > req.MaxTxBytes {
			continue // a smaller later transaction may still fit
		}
		t, _, txErr := a.checkStateless(raw)
		if txErr != nil {
			continue
		}
		txErr, err := a.admit(scratch, t)
		if err != nil {
			return nil, err
		}
		if txErr != nil {
			continue
		}
		out = append(out, raw)
		size += int64(len(raw))
	}
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}

// ProcessProposal rejects a proposal only for what every honest node sees
// the same way without state: a transaction that does not decode, breaks a
// size limit, or names another chain. Stateful failures are not a reason to
// reject: FinalizeBlock gives them a result code. Under Tutti a rejected
// block is simply not supported by this validator.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	a.mu.Lock()
	chainID := a.chainID()
	a.mu.Unlock()
	for _, raw := range req.Txs {
		t, txErr := tx.Decode(raw)
		if txErr != nil || t.Transfer.ChainId != chainID {
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}
