// Package exec executes the ABCI blocks the engine core cuts: it fills FinalizeBlock's
// request exactly as CometBFT does, asks the app's ProcessProposal about exactly that block,
// calls FinalizeBlock then Commit on the app's consensus connection, and turns the response
// into what the core attests to next: app hash, results hash, validator updates and the
// next validators hash. It also keeps the validator sets so updates take effect at H+2, as
// in CometBFT.
package exec

import (
	"context"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

// Consensus is the part of the app's consensus connection execution uses
// (proxy.AppConnConsensus has it).
type Consensus interface {
	ProcessProposal(ctx context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error)
	FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error)
	Commit(ctx context.Context) (*abci.ResponseCommit, error)
}

// Executed is one executed height: what the block store keeps and the RPC serves.
type Executed struct {
	Request      *abci.RequestFinalizeBlock
	Response     *abci.ResponseFinalizeBlock
	RetainHeight int64 // what the app's Commit returned (0 until it did)
	// Rejected: the app's ProcessProposal answered REJECT for this final block, which was
	// executed anyway (see Execute).
	Rejected           bool
	ResultsHash        []byte
	NextValidatorsHash []byte // hash of the set of H+2, attested with this height
	// NextValidators and AfterNextValidators are the sets of heights H+1 and H+2 once H is
	// executed (what ValidatorSets returns after Execute).
	NextValidators, AfterNextValidators *cmttypes.ValidatorSet
}

// Executor executes heights in order. It is not safe for concurrent use: the node runs it
// on one goroutine beside the ordering loop.
type Executor struct {
	app        Consensus
	lastHeight int64
	// last signed the last executed height (nil before the first): the set the next
	// height's DecidedLastCommit lists.
	last *cmttypes.ValidatorSet
	// sets[0] signs the next height to execute, sets[1] the one after (updates returned at
	// H take effect at H+2).
	sets [2]*cmttypes.ValidatorSet
}

// New returns an executor whose next height is lastHeight+1, with the validator sets of
// heights lastHeight, lastHeight+1 and lastHeight+2 (last is nil when nothing was executed).
func New(app Consensus, lastHeight int64, last, next, afterNext *cmttypes.ValidatorSet) *Executor {
	return &Executor{app: app, lastHeight: lastHeight, last: last, sets: [2]*cmttypes.ValidatorSet{next, afterNext}}
}

// LastHeight is the last executed height.
func (e *Executor) LastHeight() int64 { return e.lastHeight }

// ValidatorSets returns the sets of heights LastHeight+1 and LastHeight+2.
func (e *Executor) ValidatorSets() (next, afterNext *cmttypes.ValidatorSet) {
	return e.sets[0], e.sets[1]
}

// Request builds FinalizeBlock's request for b. lastSet signed the previous height (nil at
// the initial height): DecidedLastCommit lists exactly its validators, in its order, COMMIT
// for those the cut found attesting. The two differ when an epoch outlives a validator
// update (the DAG committee changes only at epoch ends, the app's set at H+2), and apps
// (the Cosmos SDK's slashing among them) require every listed address to be a validator
// of that height. totalPower is that of the set signing b, which misbehavior reports.
func Request(b *order.ABCIBlock, lastSet *cmttypes.ValidatorSet, totalPower int64) *abci.RequestFinalizeBlock {
	var votes []abci.VoteInfo
	if lastSet != nil {
		signed := make(map[string]bool, len(b.DecidedLastCommit))
		for _, v := range b.DecidedLastCommit {
			if v.Signed {
				signed[string(address(v.PubKey))] = true
			}
		}
		votes = make([]abci.VoteInfo, len(lastSet.Validators))
		for i, v := range lastSet.Validators {
			flag := cmtproto.BlockIDFlagAbsent
			if signed[string(v.Address)] {
				flag = cmtproto.BlockIDFlagCommit
			}
			votes[i] = abci.VoteInfo{Validator: abci.Validator{Address: v.Address, Power: v.VotingPower}, BlockIdFlag: flag}
		}
	}
	// One misbehavior per validator per block: an equivocator can sign two blocks in every
	// DAG round, and apps (CometBFT's kvstore among them) answer each report with a power
	// update, which a validator set refuses to take twice for one validator in one block.
	var mis []abci.Misbehavior
	reported := map[string]bool{}
	for _, m := range b.Misbehavior {
		addr := address(m.PubKey)
		if reported[string(addr)] {
			continue
		}
		reported[string(addr)] = true
		mis = append(mis, abci.Misbehavior{Type: abci.MisbehaviorType_DUPLICATE_VOTE,
			Validator: abci.Validator{Address: addr, Power: m.Power},
			Height:    m.Height, Time: time.UnixMilli(m.TimeMs).UTC(), TotalVotingPower: totalPower})
	}
	return &abci.RequestFinalizeBlock{
		Txs:                b.Txs,
		DecidedLastCommit:  abci.CommitInfo{Round: 0, Votes: votes},
		Misbehavior:        mis,
		Hash:               b.Hash,
		Height:             b.Height,
		Time:               time.UnixMilli(b.TimeMs).UTC(),
		NextValidatorsHash: b.NextValidatorsHash,
		ProposerAddress:    address(b.ProposerPubKey),
	}
}

// ProcessRequest is ProcessProposal's request for the block req finalizes: the same
// fields, so that an app's optimistic execution of it is exactly FinalizeBlock's.
func ProcessRequest(req *abci.RequestFinalizeBlock) *abci.RequestProcessProposal {
	return &abci.RequestProcessProposal{Txs: req.Txs, ProposedLastCommit: req.DecidedLastCommit, Misbehavior: req.Misbehavior,
		Hash: req.Hash, Height: req.Height, Time: req.Time, NextValidatorsHash: req.NextValidatorsHash,
		ProposerAddress: req.ProposerAddress}
}

// Committee lists a validator set as the core's validators (public key and power), in the
// set's order. The core builds the next epoch's committee from it when a quorum attests
// the set's hash.
func Committee(set *cmttypes.ValidatorSet) []types.Validator {
	out := make([]types.Validator, len(set.Validators))
	for i, v := range set.Validators {
		out[i] = types.Validator{PubKey: v.PubKey.Bytes(), Power: v.VotingPower}
	}
	return out
}

// stillInSet drops misbehavior by validators the app already removed. An app applies the
// updates it returns at H-1 to its own view at once, while they take effect for signing at
// H+1; with epochs a block can order an equivocation of a validator whose removal the app
// returned the height before, and apps (CometBFT's kvstore among them) refuse to punish a
// validator they no longer hold. The set of H+1 is exactly the app's view.
func (e *Executor) stillInSet(mis []abci.Misbehavior) []abci.Misbehavior {
	kept := mis[:0]
	for _, m := range mis {
		if e.sets[1].HasAddress(m.Validator.Address) {
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return kept
}

func address(pub []byte) []byte {
	if len(pub) != ed25519.PubKeySize {
		return nil
	}
	return ed25519.PubKey(pub).Address()
}

// Execute runs height b.Height, which must be the next one, as a live node does:
// ProcessProposal, FinalizeBlock, then durable, then the app's Commit.
//
// ProcessProposal is asked once per height, about exactly the block FinalizeBlock then
// receives (same transactions, time, proposer, last commit, misbehavior and hash), and only
// once the app committed the height before. The block is already final when it is cut (the
// DAG ordered it), so the call cannot change what is executed; it is there because apps
// rely on it: the Cosmos SDK resets its finalize state in it and, with optimistic
// execution, starts executing the block it names, which FinalizeBlock then uses. A REJECT
// is what CometBFT does to a node outvoted by a quorum that accepted: the block is executed
// anyway (Executed.Rejected tells the node to warn).
//
// durable (nil: nothing) must make the height's results survive a crash before the app
// commits them, as CometBFT saves FinalizeBlock's response before Commit: a crash in
// between then leaves the app one height behind the block store, which the handshake
// replays, never ahead of it, which nothing could repair. An error from durable stops the
// height before Commit. RetainHeight is known only after Commit.
func (e *Executor) Execute(ctx context.Context, b *order.ABCIBlock, durable func(*Executed, core.ExecutionResult) error) (*Executed, core.ExecutionResult, error) {
	return e.execute(ctx, b, true, durable)
}

// Replay runs a stored height the app lacks, as CometBFT's handshake replays: FinalizeBlock,
// durable, Commit, with no ProcessProposal (the height was decided and executed before).
func (e *Executor) Replay(ctx context.Context, b *order.ABCIBlock, durable func(*Executed, core.ExecutionResult) error) (*Executed, core.ExecutionResult, error) {
	return e.execute(ctx, b, false, durable)
}

func (e *Executor) execute(ctx context.Context, b *order.ABCIBlock, process bool, durable func(*Executed, core.ExecutionResult) error) (*Executed, core.ExecutionResult, error) {
	if b.Height != e.lastHeight+1 {
		return nil, core.ExecutionResult{}, fmt.Errorf("execute height %d: the app is at height %d, want %d next",
			b.Height, e.lastHeight, e.lastHeight+1)
	}
	req := Request(b, e.last, e.sets[0].TotalVotingPower())
	req.Misbehavior = e.stillInSet(req.Misbehavior)
	rejected := false
	if process {
		verdict, err := e.app.ProcessProposal(ctx, ProcessRequest(req))
		if err != nil {
			return nil, core.ExecutionResult{}, fmt.Errorf("ProcessProposal at height %d: %w", b.Height, err)
		}
		switch verdict.Status {
		case abci.ResponseProcessProposal_ACCEPT:
		case abci.ResponseProcessProposal_REJECT:
			rejected = true
		default:
			return nil, core.ExecutionResult{}, fmt.Errorf("ProcessProposal at height %d answered status %v; only ACCEPT and REJECT are valid",
				b.Height, verdict.Status)
		}
	}
	res, err := e.app.FinalizeBlock(ctx, req)
	if err != nil {
		return nil, core.ExecutionResult{}, fmt.Errorf("FinalizeBlock at height %d: %w", b.Height, err)
	}
	if len(res.TxResults) != len(req.Txs) {
		return nil, core.ExecutionResult{}, fmt.Errorf("FinalizeBlock at height %d returned %d tx results for %d txs",
			b.Height, len(res.TxResults), len(req.Txs))
	}
	updates, err := cmttypes.PB2TM.ValidatorUpdates(res.ValidatorUpdates)
	if err != nil {
		return nil, core.ExecutionResult{}, fmt.Errorf("height %d: bad validator update: %w", b.Height, err)
	}
	for _, u := range updates {
		if err := types.CheckValidatorKey(u.PubKey.Type(), u.PubKey.Bytes()); err != nil {
			return nil, core.ExecutionResult{}, fmt.Errorf("height %d: the app returned a validator update with %w", b.Height, err)
		}
	}
	after := e.sets[1].Copy()
	if len(updates) > 0 {
		if err := after.UpdateWithChangeSet(updates); err != nil {
			return nil, core.ExecutionResult{}, fmt.Errorf("height %d: validator updates rejected: %w", b.Height, err)
		}
	}
	out := &Executed{Request: req, Response: res, Rejected: rejected, ResultsHash: cmttypes.NewResults(res.TxResults).Hash(),
		NextValidatorsHash: after.Hash(), NextValidators: e.sets[1], AfterNextValidators: after}
	result := core.ExecutionResult{Height: b.Height, AppHash: res.AppHash, ResultsHash: out.ResultsHash,
		NextValidatorsHash: out.NextValidatorsHash, NextValidators: Committee(after)}
	for _, u := range res.ValidatorUpdates {
		pk, err := cryptoenc.PubKeyFromProto(u.PubKey)
		if err != nil {
			return nil, core.ExecutionResult{}, errors.Join(fmt.Errorf("height %d: validator update key", b.Height), err)
		}
		result.ValidatorUpdates = append(result.ValidatorUpdates, core.ValidatorUpdate{PubKey: pk.Bytes(), Power: u.Power})
	}
	if durable != nil {
		if err := durable(out, result); err != nil {
			return nil, core.ExecutionResult{}, fmt.Errorf("height %d before the app's Commit: %w", b.Height, err)
		}
	}
	commit, err := e.app.Commit(ctx)
	if err != nil {
		return nil, core.ExecutionResult{}, fmt.Errorf("app Commit at height %d: %w", b.Height, err)
	}
	out.RetainHeight = commit.RetainHeight
	e.lastHeight = b.Height
	e.last = e.sets[0]
	e.sets = [2]*cmttypes.ValidatorSet{e.sets[1], after}
	return out, result, nil
}
