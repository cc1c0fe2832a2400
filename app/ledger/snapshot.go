package ledger

import (
	"context"
	"errors"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/app/ledger/state"
)

// ListSnapshots lists the snapshots taken every WithSnapshots interval.
func (a *App) ListSnapshots(context.Context, *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	snaps, err := a.store.ListSnapshots()
	if err != nil {
		return nil, err
	}
	return &abci.ResponseListSnapshots{Snapshots: snaps}, nil
}

// LoadSnapshotChunk serves one chunk (empty if it is not held).
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	chunk, err := a.store.LoadSnapshotChunk(req.Height, req.Format, req.Chunk)
	if err != nil {
		return nil, err
	}
	return &abci.ResponseLoadSnapshotChunk{Chunk: chunk}, nil
}

// OfferSnapshot starts restoring a snapshot into an empty ledger. The app hash
// in the request is the one the engine verified for the snapshot's height;
// the restored tree must reproduce it.
func (a *App) OfferSnapshot(_ context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if req.Snapshot == nil {
		return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_REJECT}, nil
	}
	if req.Snapshot.Format != state.SnapshotFormat {
		return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_REJECT_FORMAT}, nil
	}
	r, err := a.store.BeginRestore(req.Snapshot, req.AppHash)
	if errors.Is(err, state.ErrRejectSnapshot) {
		return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_REJECT}, nil
	}
	if err != nil {
		return nil, err
	}
	if a.cfg.chainID != "" && r.ChainID() != a.cfg.chainID {
		return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_REJECT}, nil
	}
	a.restore = r
	return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_ACCEPT}, nil
}

// ApplySnapshotChunk applies chunks in order. A chunk that does not match
// its hash is refetched from another sender; a snapshot whose state does not
// reproduce the trusted app hash is rejected and everything it wrote wiped.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.restore == nil {
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ABORT}, nil
	}
	done, err := a.restore.Apply(req.Index, req.Chunk)
	switch {
	case errors.Is(err, state.ErrBadChunk):
		resp := &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY, RefetchChunks: []uint32{req.Index}}
		if req.Sender != "" {
			resp.RejectSenders = []string{req.Sender}
		}
		return resp, nil
	case errors.Is(err, state.ErrRejectSnapshot):
		a.cfg.logger.Warn().Err(err).Msg("snapshot rejected; restored data wiped")
		a.restore = nil
		if werr := a.store.Wipe(); werr != nil {
			return nil, werr
		}
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT}, nil
	case err != nil:
		return nil, err
	}
	if done {
		a.cfg.logger.Info().Int64("height", a.store.Height()).Hex("app_hash", a.store.AppHash()).Msg("state restored from snapshot")
		a.restore = nil
		a.pending = state.NewOverlay(mempoolBase{a.store})
	}
	return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
}
