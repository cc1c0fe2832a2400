package grammar

import (
	"context"
	"fmt"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Recorder wraps an app and records every call it receives, in order, for Check.
type Recorder struct {
	abci.Application
	mu    sync.Mutex
	calls []Call
}

// NewRecorder wraps app.
func NewRecorder(app abci.Application) *Recorder { return &Recorder{Application: app} }

// Calls returns a copy of the calls so far.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

func (r *Recorder) add(method string, height int64) { r.addCall(Call{Method: method, Height: height}) }

func (r *Recorder) addCall(c Call) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

func (r *Recorder) Info(ctx context.Context, req *abci.RequestInfo) (*abci.ResponseInfo, error) {
	// Recorded with the height it answers, after the call: that height is where the
	// session's heights start.
	res, err := r.Application.Info(ctx, req)
	var h int64
	if err == nil && res != nil {
		h = res.LastBlockHeight
	}
	r.add("Info", h)
	return res, err
}

func (r *Recorder) InitChain(ctx context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	r.add("InitChain", max(req.InitialHeight, 1))
	return r.Application.InitChain(ctx, req)
}

func (r *Recorder) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	r.add("PrepareProposal", req.Height)
	return r.Application.PrepareProposal(ctx, req)
}

func (r *Recorder) ProcessProposal(ctx context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	r.addCall(Call{Method: "ProcessProposal", Height: req.Height, Hash: fmt.Sprintf("%X", req.Hash)})
	return r.Application.ProcessProposal(ctx, req)
}

func (r *Recorder) ExtendVote(ctx context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	r.add("ExtendVote", 0)
	return r.Application.ExtendVote(ctx, req)
}

func (r *Recorder) VerifyVoteExtension(ctx context.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	r.add("VerifyVoteExtension", 0)
	return r.Application.VerifyVoteExtension(ctx, req)
}

func (r *Recorder) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	r.addCall(Call{Method: "FinalizeBlock", Height: req.Height, Hash: fmt.Sprintf("%X", req.Hash)})
	return r.Application.FinalizeBlock(ctx, req)
}

func (r *Recorder) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	r.add("Commit", 0)
	return r.Application.Commit(ctx, req)
}

func (r *Recorder) OfferSnapshot(ctx context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	r.add("OfferSnapshot", 0)
	return r.Application.OfferSnapshot(ctx, req)
}

func (r *Recorder) ApplySnapshotChunk(ctx context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	r.add("ApplySnapshotChunk", 0)
	return r.Application.ApplySnapshotChunk(ctx, req)
}
