package node

import (
	"sync"
	"sync/atomic"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/types"
)

// PrepareProposal goes to the app on its consensus connection, as on CometBFT, beside the
// executor's ProcessProposal, FinalizeBlock and Commit (abci/exec asks ProcessProposal
// about each final block just before executing it). What PrepareProposal shares with the
// executor lives here; prepare.go holds the call.

// proposals is PrepareProposal's state.
type proposals struct {
	// appMu is held by the executor from ProcessProposal through Commit and around each
	// PrepareProposal, so PrepareProposal never falls inside a height's calls (which ABCI's
	// grammar forbids) and appHeight is read consistently with what the app has.
	appMu     sync.Mutex
	appHeight int64 // last height the app committed; under appMu

	// Owned by the loop goroutine.
	preparing   bool   // a PrepareProposal is in flight
	batchQueued bool   // the app's last list is with the core, not yet in an own block
	ownRound    uint64 // round of the latest own block broadcast

	maxTxBytes int64 // PrepareProposal's max_tx_bytes: the core's payload bound per block
	maxTxs     int   // the core's transactions per block
	maxTxSize  int   // the largest transaction a block may carry

	prepared chan preparedList

	last atomic.Pointer[lastCommitView] // from the last height executed in this run
}

// lastCommitView is what the node knows of the latest executed height, the best it has
// for the commit-info fields of proposal requests.
type lastCommitView struct {
	commit             abci.CommitInfo // that height's DecidedLastCommit
	nextValidatorsHash []byte          // hash of the set after the next height
}

func newProposals(cfg core.Config) *proposals {
	limits := cfg.Limits
	if limits.MaxParents == 0 {
		limits = types.DefaultBlockLimits()
	}
	// The core clamps the same way (core.Config's checks), so the app's list always fits
	// one own block.
	maxBytes, maxTxs := cfg.MaxBlockTxBytes, cfg.MaxBlockTxs
	if maxBytes <= 0 || maxBytes > limits.MaxPayloadBytes {
		maxBytes = limits.MaxPayloadBytes
	}
	if maxTxs <= 0 || maxTxs > limits.MaxTxs {
		maxTxs = limits.MaxTxs
	}
	return &proposals{maxTxBytes: int64(maxBytes), maxTxs: maxTxs, maxTxSize: limits.MaxTxBytes,
		prepared: make(chan preparedList, 1)}
}

// proposalHeight is the height PrepareProposal names: the one after the last the app
// committed, as on CometBFT, where a proposal is always for the height being decided. Our
// DAG block may be ordered into a later height (ordering runs ahead of execution), but an
// app must never be asked about a height whose predecessor it has not committed: the Cosmos
// SDK sets up that height's state from its last committed one. Call it holding appMu.
func (p *proposals) proposalHeight() int64 {
	return p.appHeight + 1
}

// extendedCommit turns a DecidedLastCommit into PrepareProposal's local_last_commit. Tutti
// has no vote extensions yet, so each vote carries none, as on CometBFT with extensions off.
func extendedCommit(ci abci.CommitInfo) abci.ExtendedCommitInfo {
	out := abci.ExtendedCommitInfo{Round: ci.Round}
	for _, v := range ci.Votes {
		out.Votes = append(out.Votes, abci.ExtendedVoteInfo{Validator: v.Validator, BlockIdFlag: v.BlockIdFlag})
	}
	return out
}
