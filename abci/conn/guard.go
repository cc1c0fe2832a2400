package conn

import (
	"context"
	"errors"
	"fmt"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"
)

// guarded makes every call on a remote client return when its context ends or the
// connection breaks. cometbft's socket client waits for a response without looking at the
// context, and a request queued just after the connection broke is never answered: a node
// calling it would hang on a dead app forever (seen with a Cosmos SDK app killed under a
// node). The abandoned call's goroutine stays blocked on the dead client; the node stops.
type guarded struct {
	abcicli.Client
	describe func() error // the error a call returns once the connection is gone
}

type outcome[T any] struct {
	value T
	err   error
}

func guard[Req, Res any](g *guarded, ctx context.Context, call func(context.Context, Req) (Res, error), req Req) (Res, error) {
	done := make(chan outcome[Res], 1)
	go func() {
		v, err := call(ctx, req)
		done <- outcome[Res]{v, err}
	}()
	var zero Res
	finish := func(o outcome[Res]) (Res, error) {
		if o.err != nil && g.Client.Error() != nil {
			// The client stopped on a broken connection (it records why before it stops):
			// say so, naming the app, rather than pass on its bare read error.
			return zero, g.describe()
		}
		return o.value, o.err
	}
	select {
	case o := <-done:
		return finish(o)
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-g.Quit():
		// A response that made it before the connection closed still counts.
		select {
		case o := <-done:
			return finish(o)
		default:
		}
		return zero, g.describe()
	}
}

func (g *guarded) Flush(ctx context.Context) error {
	_, err := guard(g, ctx, func(ctx context.Context, _ struct{}) (struct{}, error) { return struct{}{}, g.Client.Flush(ctx) }, struct{}{})
	return err
}

func (g *guarded) Echo(ctx context.Context, msg string) (*abci.ResponseEcho, error) {
	return guard(g, ctx, g.Client.Echo, msg)
}

func (g *guarded) Info(ctx context.Context, req *abci.RequestInfo) (*abci.ResponseInfo, error) {
	return guard(g, ctx, g.Client.Info, req)
}

func (g *guarded) Query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	return guard(g, ctx, g.Client.Query, req)
}

func (g *guarded) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	return guard(g, ctx, g.Client.CheckTx, req)
}

func (g *guarded) CheckTxAsync(ctx context.Context, req *abci.RequestCheckTx) (*abcicli.ReqRes, error) {
	return guard(g, ctx, g.Client.CheckTxAsync, req)
}

func (g *guarded) InsertTx(ctx context.Context, req *abci.RequestInsertTx) (*abci.ResponseInsertTx, error) {
	return guard(g, ctx, g.Client.InsertTx, req)
}

func (g *guarded) ReapTxs(ctx context.Context, req *abci.RequestReapTxs) (*abci.ResponseReapTxs, error) {
	return guard(g, ctx, g.Client.ReapTxs, req)
}

func (g *guarded) InitChain(ctx context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	return guard(g, ctx, g.Client.InitChain, req)
}

func (g *guarded) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	return guard(g, ctx, g.Client.PrepareProposal, req)
}

func (g *guarded) ProcessProposal(ctx context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	return guard(g, ctx, g.Client.ProcessProposal, req)
}

func (g *guarded) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	return guard(g, ctx, g.Client.FinalizeBlock, req)
}

func (g *guarded) ExtendVote(ctx context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	return guard(g, ctx, g.Client.ExtendVote, req)
}

func (g *guarded) VerifyVoteExtension(ctx context.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	return guard(g, ctx, g.Client.VerifyVoteExtension, req)
}

func (g *guarded) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	return guard(g, ctx, g.Client.Commit, req)
}

func (g *guarded) ListSnapshots(ctx context.Context, req *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	return guard(g, ctx, g.Client.ListSnapshots, req)
}

func (g *guarded) OfferSnapshot(ctx context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	return guard(g, ctx, g.Client.OfferSnapshot, req)
}

func (g *guarded) LoadSnapshotChunk(ctx context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	return guard(g, ctx, g.Client.LoadSnapshotChunk, req)
}

func (g *guarded) ApplySnapshotChunk(ctx context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	return guard(g, ctx, g.Client.ApplySnapshotChunk, req)
}

// brokenError is what a call on a broken connection returns, and what Failed reports.
func brokenError(app, name string, cause error) error {
	if cause == nil {
		cause = errors.New("connection closed")
	}
	return fmt.Errorf("ABCI %s connection to the app at %s failed: %w; did the app crash? Restart the app, then the node (tutti start)",
		name, app, cause)
}
