package ledger

import (
	"context"
	"fmt"
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// Event types and attribute keys; tx_search queries name them, e.g.
// "transfer.sender='ABCD...'".
const (
	EventTransfer  = "transfer"
	EventFees      = "fees"
	AttrSender     = "sender"
	AttrRecipient  = "recipient"
	AttrAmount     = "amount"
	AttrFee        = "fee"
	AttrFeeAccount = "recipient"
)

// FinalizeBlock executes a decided block: decode, verify the signatures not
// already verified by CheckTx (in parallel batches), apply the transfers
// (components of independent accounts in parallel, identical to block order),
// credit the block's fees, and stage the new state, whose root is the app hash.
// Nothing is written until Commit.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.block != nil {
		return nil, fmt.Errorf("ledger: FinalizeBlock(%d) while height %d awaits Commit", req.Height, a.block.height)
	}
	if committed := a.store.Height(); committed > 0 && req.Height != committed+1 {
		return nil, fmt.Errorf("ledger: FinalizeBlock(%d) after committed height %d", req.Height, committed)
	}
	if staged := a.store.StagedHeight(); staged != 0 && staged != req.Height {
		return nil, fmt.Errorf("ledger: FinalizeBlock(%d) but genesis is for initial height %d", req.Height, staged)
	}
	if a.store.Height() == 0 && a.store.StagedHeight() == 0 {
		return nil, fmt.Errorf("ledger: FinalizeBlock(%d) before InitChain", req.Height)
	}
	txs := decodeBlock(req.Txs, a.chainID())
	verifySignatures(txs, a.sigs, a.cfg.workers)
	var ex execution
	var err error
	if a.cfg.execWorkers > 1 && len(txs) >= a.cfg.parallelMin {
		ex, err = executeParallel(a.store.Staged(), txs, a.cfg.execWorkers)
	} else {
		ex, err = executeSequential(a.store.Staged(), txs)
	}
	if err != nil {
		return nil, err
	}
	feeTo := a.cfg.feeCollector
	if len(req.ProposerAddress) == tx.AddressSize {
		copy(feeTo[:], req.ProposerAddress)
	}
	if err := state.Credit(ex.changes, feeTo, ex.fees); err != nil {
		return nil, err
	}
	appHash, err := a.store.Stage(req.Height, ex.changes.Changes())
	if err != nil {
		return nil, err
	}
	resp := &abci.ResponseFinalizeBlock{AppHash: appHash, TxResults: make([]*abci.ExecTxResult, len(txs))}
	block := &blockInProgress{height: req.Height, fees: ex.fees, changed: ex.changes.Len()}
	for i := range txs {
		resp.TxResults[i] = execResult(&txs[i])
		block.included = append(block.included, txs[i].hash)
		if txs[i].err != nil {
			block.failed++
		}
	}
	if ex.fees > 0 {
		resp.Events = []abci.Event{{Type: EventFees, Attributes: []abci.EventAttribute{
			{Key: AttrFeeAccount, Value: feeTo.String(), Index: true},
			{Key: AttrAmount, Value: strconv.FormatUint(ex.fees, 10), Index: true},
		}}}
	}
	a.block = block
	return resp, nil
}

func execResult(d *decodedTx) *abci.ExecTxResult {
	if d.err != nil {
		return &abci.ExecTxResult{Code: uint32(d.err.Code), Codespace: tx.Codespace, Log: d.err.Msg}
	}
	t := &d.tx.Transfer
	return &abci.ExecTxResult{
		Code: uint32(tx.CodeOK), GasWanted: 1, GasUsed: 1,
		Events: []abci.Event{{Type: EventTransfer, Attributes: []abci.EventAttribute{
			{Key: AttrSender, Value: d.tx.Sender().String(), Index: true},
			{Key: AttrRecipient, Value: d.tx.Recipient().String(), Index: true},
			{Key: AttrAmount, Value: strconv.FormatUint(t.Amount, 10), Index: true},
			{Key: AttrFee, Value: strconv.FormatUint(t.Fee, 10), Index: true},
		}}},
	}
}

// Commit makes the finalized block durable (one synced goleveldb batch), then
// resets the mempool's pending view to the new state: CometBFT rechecks its
// remaining transactions against it, and the app-side mempool revalidates its own.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.block == nil {
		return nil, fmt.Errorf("ledger: Commit without FinalizeBlock")
	}
	if err := a.store.Commit(); err != nil {
		return nil, err
	}
	b := a.block
	a.cfg.logger.Info().Int64("height", b.height).Int("txs", len(b.included)).Int("failed", b.failed).
		Int("accounts_changed", b.changed).Uint64("fees", b.fees).Hex("app_hash", a.store.AppHash()).Msg("committed")
	a.sigs.forget(a.block.included)
	a.pool.remove(a.block.included)
	a.block = nil
	a.pending = state.NewOverlay(mempoolBase{a.store})
	if err := a.pool.revalidate(a.pending, a.chainID()); err != nil {
		return nil, err
	}
	return &abci.ResponseCommit{}, nil
}
