package node

import (
	"sync"
	"sync/atomic"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/types"
)

// PrepareProposal and ProcessProposal (DESIGN §3) go to the app on its consensus
// connection, as on CometBFT, beside the executor's FinalizeBlock and Commit. What they
// share lives here; prepare.go and process.go hold the two calls.

// processQueue bounds the peer blocks waiting for ProcessProposal. The verdict is advisory:
// when the app is slower than blocks arrive, a block is referenced without one (counted as
// unchecked) rather than queued without bound or made to wait.
const processQueue = 256

// proposals is the state of both calls.
type proposals struct {
	// appMu is held from FinalizeBlock through Commit and around each proposal call, so a
	// proposal call never falls between a height's FinalizeBlock and its Commit (which
	// ABCI's grammar forbids), and appHeight is read consistently with what the app has.
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
	queue    chan *types.Block // peer blocks for ProcessProposal

	cutHeight atomic.Int64                   // last height the core cut (loop writes)
	last      atomic.Pointer[lastCommitView] // from the last height executed in this run
	askedMu   sync.Mutex
	asked     map[types.Digest]struct{} // blocks already given to ProcessProposal
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
		prepared: make(chan preparedList, 1), queue: make(chan *types.Block, processQueue),
		asked: map[types.Digest]struct{}{}}
}

// proposalHeight is the height a proposal request names: the next height this node will
// cut, and never one the app already committed (execution lags ordering, so by the time the
// call reaches the app the executor may have passed the height read on the loop). Call it
// holding appMu.
func (p *proposals) proposalHeight() int64 {
	return max(p.cutHeight.Load(), p.appHeight) + 1
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
