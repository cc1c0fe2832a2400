package rpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/store"
)

// indexWait bounds how long a lookup waits for the index to reach the heights stored when
// it came (awaitIndex).
const indexWait = time.Second

// awaitIndex waits, up to indexWait, until the index holds every height stored when the
// request came. The node indexes behind its executor (a height or two under load), so a
// client that saw a height executed (its NewBlock event, status, broadcast_tx_commit)
// finds its transactions, as it would if the index were written with the height.
func (s *Server) awaitIndex(ctx context.Context) {
	target := s.Store.Height()
	if s.Store.Indexed() >= target {
		return
	}
	deadline := time.NewTimer(indexWait)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for s.Store.Indexed() < target {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

// errIndexOff is CometBFT's answer when [tx_index] indexer = "null".
var errIndexOff = errors.New("transaction indexing is disabled")

// broadcastTxAsync returns the hash before the app has seen the transaction, as CometBFT;
// the CheckTx runs in the background (bounded, see asyncCheckTxSlots) and its refusal is
// not reported.
func (s *Server) broadcastTxAsync(_ *rpctypes.Context, tx cmttypes.Tx) (*ctypes.ResultBroadcastTx, error) {
	select {
	case s.asyncSem <- struct{}{}:
	case <-s.ctx.Done():
		return nil, errors.New("the node is stopping")
	}
	go func() {
		defer func() { <-s.asyncSem }()
		if _, err := s.Mempool.CheckTx(s.ctx, tx); err != nil {
			s.Logger.Debug().Err(err).Str("tx", fmt.Sprintf("%X", tx.Hash())).Msg("broadcast_tx_async: refused")
		}
	}()
	return &ctypes.ResultBroadcastTx{Hash: tx.Hash()}, nil
}

// broadcastTxSync returns the app's CheckTx answer; a mempool refusal (full, in cache,
// too large) is an error, as in CometBFT.
func (s *Server) broadcastTxSync(ctx *rpctypes.Context, tx cmttypes.Tx) (*ctypes.ResultBroadcastTx, error) {
	res, err := s.Mempool.CheckTx(ctx.Context(), tx)
	if err != nil {
		return nil, err
	}
	return &ctypes.ResultBroadcastTx{Code: res.Code, Data: res.Data, Log: res.Log, Codespace: res.Codespace, Hash: tx.Hash()}, nil
}

// broadcastTxCommit subscribes to the transaction's Tx event before admitting it, so the
// event cannot be missed, then waits for it up to [rpc] timeout_broadcast_tx_commit.
func (s *Server) broadcastTxCommit(ctx *rpctypes.Context, tx cmttypes.Tx) (*ctypes.ResultBroadcastTxCommit, error) {
	subscriber := ctx.RemoteAddr()
	bus := s.Events.bus
	subCtx, cancel := context.WithTimeout(ctx.Context(), subscribeTimeout)
	defer cancel()
	q := cmttypes.EventQueryTxFor(tx)
	sub, release, err := s.subscribeWithinLimits(subCtx, subscriber, q)
	if err != nil {
		if errors.As(err, new(limitError)) {
			return nil, err
		}
		return nil, fmt.Errorf("failed to subscribe to tx: %w", err)
	}
	defer release()
	defer func() {
		if err := bus.Unsubscribe(context.Background(), subscriber, q); err != nil && s.ctx.Err() == nil {
			s.Logger.Debug().Err(err).Msg("broadcast_tx_commit: unsubscribe")
		}
	}()
	check, err := s.Mempool.CheckTx(ctx.Context(), tx)
	if err != nil {
		return nil, fmt.Errorf("error on broadcastTxCommit: %v", err)
	}
	res := &ctypes.ResultBroadcastTxCommit{CheckTx: *check, Hash: tx.Hash()}
	if check.Code != abci.CodeTypeOK {
		return res, nil
	}
	timeout := time.NewTimer(s.Config.TimeoutBroadcastTxCommit.D())
	defer timeout.Stop()
	select {
	case msg := <-sub.Out():
		ev := msg.Data().(cmttypes.EventDataTx)
		res.TxResult, res.Height = ev.Result, ev.Height
		return res, nil
	case <-sub.Canceled():
		reason := "Tutti exited"
		if sub.Err() != nil {
			reason = sub.Err().Error()
		}
		return res, fmt.Errorf("txSub was canceled (reason: %s)", reason)
	case <-timeout.C:
		return res, errors.New("timed out waiting for tx to be included in a block")
	case <-ctx.Context().Done():
		return res, fmt.Errorf("broadcast confirmation not received: %w", ctx.Context().Err())
	}
}

// checkTx asks the app on its mempool connection without adding to the mempool.
func (s *Server) checkTx(ctx *rpctypes.Context, tx cmttypes.Tx) (*ctypes.ResultCheckTx, error) {
	res, err := s.AppMempool.CheckTx(ctx.Context(), &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
	if err != nil {
		return nil, err
	}
	return &ctypes.ResultCheckTx{ResponseCheckTx: *res}, nil
}

// tx finds a committed transaction by hash; with prove, the Merkle proof of it in its
// block's transactions (whose root is the header's data_hash), while the block is stored.
func (s *Server) tx(ctx *rpctypes.Context, hash []byte, prove bool) (*ctypes.ResultTx, error) {
	if s.txIndexOff() {
		return nil, errIndexOff
	}
	if len(hash) != 32 {
		return nil, fmt.Errorf("tx (%X) not found", hash)
	}
	s.awaitIndex(ctx.Context())
	r, err := s.Store.TxByHash(hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("tx (%X) not found", hash)
	}
	if err != nil {
		return nil, err
	}
	return s.resultTx(r, prove)
}

func (s *Server) resultTx(r *abci.TxResult, prove bool) (*ctypes.ResultTx, error) {
	res := &ctypes.ResultTx{Hash: cmttypes.Tx(r.Tx).Hash(), Height: r.Height, Index: r.Index, TxResult: r.Result, Tx: r.Tx}
	if prove {
		b, err := s.Store.Block(r.Height)
		switch {
		case err == nil && int(r.Index) < len(b.Txs):
			txs := make(cmttypes.Txs, len(b.Txs))
			for i, tx := range b.Txs {
				txs[i] = tx
			}
			res.Proof = txs.Proof(int(r.Index))
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return res, nil
}

func (s *Server) unconfirmedTxs(_ *rpctypes.Context, limitPtr *int) (*ctypes.ResultUnconfirmedTxs, error) {
	pending := s.Mempool.Pending(perPage(limitPtr))
	txs := make([]cmttypes.Tx, len(pending))
	for i, tx := range pending {
		txs[i] = tx
	}
	return &ctypes.ResultUnconfirmedTxs{Count: len(txs), Total: s.Mempool.Size(), TotalBytes: s.Mempool.SizeBytes(), Txs: txs}, nil
}

func (s *Server) numUnconfirmedTxs(*rpctypes.Context) (*ctypes.ResultUnconfirmedTxs, error) {
	n := s.Mempool.Size()
	return &ctypes.ResultUnconfirmedTxs{Count: n, Total: n, TotalBytes: s.Mempool.SizeBytes()}, nil
}
