package ledger

import (
	"context"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// appMempool holds the transactions admitted by InsertTx, for engines that
// run with an app-side mempool (ABCI v0.39's InsertTx/ReapTxs): the app, not
// the engine, then decides what is pending and in what order. Guarded by App.mu.
type appMempool struct {
	max   int
	txs   []pooledTx
	index map[[32]byte]struct{}
}

type pooledTx struct {
	raw  []byte
	hash [32]byte
	tx   *tx.Tx
}

func newAppMempool(max int) *appMempool {
	return &appMempool{max: max, index: make(map[[32]byte]struct{})}
}

// InsertTx admits a transaction to the app-side mempool under the same rules
// as CheckTx (pending nonce and balance), in arrival order.
func (a *App) InsertTx(_ context.Context, req *abci.RequestInsertTx) (*abci.ResponseInsertTx, error) {
	t, h, txErr := a.checkStateless(req.Tx)
	if txErr != nil {
		return &abci.ResponseInsertTx{Code: uint32(txErr.Code)}, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.pool.index[h]; dup {
		return &abci.ResponseInsertTx{Code: uint32(tx.CodeBadNonce)}, nil
	}
	if len(a.pool.txs) >= a.pool.max {
		return &abci.ResponseInsertTx{Code: uint32(tx.CodeMempoolFull)}, nil
	}
	txErr, err := a.admit(a.pending, t)
	if err != nil {
		return nil, err
	}
	if txErr != nil {
		return &abci.ResponseInsertTx{Code: uint32(txErr.Code)}, nil
	}
	a.pool.txs = append(a.pool.txs, pooledTx{raw: req.Tx, hash: h, tx: t})
	a.pool.index[h] = struct{}{}
	return &abci.ResponseInsertTx{Code: uint32(tx.CodeOK)}, nil
}

// ReapTxs returns pooled transactions in admission order, as many as fit in
// max_bytes and max_gas (each transfer wants 1 gas; 0 means no limit). They
// stay pooled until a committed block includes them.
func (a *App) ReapTxs(_ context.Context, req *abci.RequestReapTxs) (*abci.ResponseReapTxs, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out [][]byte
	var bytes, gas uint64
	for _, p := range a.pool.txs {
		if req.MaxBytes > 0 && bytes+uint64(len(p.raw)) > req.MaxBytes {
			break
		}
		if req.MaxGas > 0 && gas+1 > req.MaxGas {
			break
		}
		bytes += uint64(len(p.raw))
		gas++
		out = append(out, p.raw)
	}
	return &abci.ResponseReapTxs{Txs: out}, nil
}

// remove drops the transactions a committed block included.
func (p *appMempool) remove(hashes [][32]byte) {
	if len(p.txs) == 0 {
		return
	}
	for _, h := range hashes {
		delete(p.index, h)
	}
	kept := p.txs[:0]
	for _, t := range p.txs {
		if _, ok := p.index[t.hash]; ok {
			kept = append(kept, t)
		}
	}
	p.txs = kept
}

// revalidate replays the pool in order on a fresh pending view after a
// commit and drops what became invalid (the app-side mempool's recheck).
func (p *appMempool) revalidate(pending *state.Overlay, chainID string) error {
	kept := p.txs[:0]
	for _, t := range p.txs {
		if t.tx.Transfer.ChainId == chainID {
			_, txErr, err := state.ApplyTransfer(pending, t.tx)
			if err != nil {
				return err
			}
			if txErr == nil {
				kept = append(kept, t)
				continue
			}
		}
		delete(p.index, t.hash)
	}
	p.txs = kept
	return nil
}
