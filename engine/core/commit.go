package core

import (
	"encoding/hex"
	"fmt"

	"github.com/tutti-bft/tutti/engine/commit"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

// tryCommit outputs every newly decided leader: linearize it, cut ABCI blocks, feed the
// reputation schedule, and garbage-collect. A schedule change invalidates decisions of
// later rounds, so the decision is re-run from there. A block that ends the epoch drops
// the decisions after it; ordering resumes in the next epoch's DAG once we are in it.
func (c *Core) tryCommit() {
	for !c.halted && c.change == nil {
		epoch := c.cfg.Epoch.Number
		decisions, _, err := c.committer.TryDecide()
		if err != nil {
			c.halt(err.Error())
			return
		}
		if len(decisions) == 0 {
			return
		}
		rescheduled := false
		for _, d := range decisions {
			c.committer.Advance(d.Slot)
			if d.Kind != commit.Commit {
				c.skipped++
				continue
			}
			c.commits++
			cm := c.lin.Linearize(d.Block)
			c.noteOwnOrdered(cm)
			c.relayOrdered(cm)
			c.noteOrdered(cm)
			for _, blk := range c.cutter.Add(cm) {
				c.deliver(blk)
				if nextHash, ended := c.cutter.EpochEnd(); ended && !c.halted {
					c.beginEpochChange(blk.Height, blk.TimeMs, d.Block.Round, nextHash)
				}
			}
			if c.change != nil || c.cfg.Epoch.Number != epoch {
				rescheduled = true // run the decision again, now in the new epoch (or wait)
				break
			}
			if c.committer.Schedule().Observe(d.Block) {
				rescheduled = true
				break
			}
		}
		c.collectGarbage()
		if !rescheduled {
			return
		}
	}
}

// forkCheckWindow is how many heights our own hashes wait for the quorum's, and the
// quorum's for a height we will not execute (one executed before a restart).
//
// Our hashes of height h wait only for block h+1's cut, which comes a few heights after
// our execution at most: execution never runs ahead of the cut. The quorum's wait for our
// execution however far it lags (the runtime bounds that lag): pruning them by the cut's
// height would leave an app that lags and forks unchecked.
const forkCheckWindow = 16

// resultHashes are what the fork check compares for a height.
type resultHashes struct {
	app, results []byte
}

// deliver hands an ABCI block to the runtime after recording the commit progress, and
// checks our own hashes against the quorum's.
func (c *Core) deliver(b order.ABCIBlock) {
	c.lastHeight = b.Height
	if b.Height > c.cfg.Cut.InitialHeight {
		prev := b.Height - 1
		c.quorumResult[prev] = resultHashes{app: b.AppHash, results: b.LastResultsHash}
		c.checkFork(prev)
		for h := range c.executed {
			if h+forkCheckWindow < prev {
				delete(c.executed, h)
			}
		}
	}
	if c.halted {
		return
	}
	c.deliveredHash[b.Height] = b.Hash
	if b.Height <= c.suppressThrough {
		return // delivered before the restart; the app already has it
	}
	c.emit(Persist{Commit: &CommitState{LastCommitIndex: b.LastCommit, LastHeight: b.Height}})
	c.emit(DeliverABCIBlock{Block: b})
}

// executedBlock records the app's result for a height; our next block attests it.
func (c *Core) executedBlock(r ExecutionResult) {
	hash, ok := c.deliveredHash[r.Height]
	if !ok {
		return
	}
	c.attestation = &types.Attestation{ChainID: c.cfg.ChainID, Height: r.Height, BlockHash: hash,
		AppHash: r.AppHash, ResultsHash: r.ResultsHash, NextValidatorsHash: r.NextValidatorsHash}
	c.executed[r.Height] = resultHashes{app: r.AppHash, results: r.ResultsHash}
	c.executedThrough = max(c.executedThrough, r.Height)
	c.forgetExecuted(c.executedThrough)
	for h := range c.quorumResult {
		if h+forkCheckWindow < c.executedThrough {
			delete(c.quorumResult, h) // executed before a restart: never compared here
		}
	}
	for h := range c.deliveredHash {
		if h < r.Height {
			delete(c.deliveredHash, h)
		}
	}
	c.checkFork(r.Height)
	c.recordNextValidators(r)
	c.tryFinishEpochChange()
}

// recordNextValidators keeps the set of Height+2 our execution gave, for the epoch change
// a quorum may attest later; heights too old to end an epoch are forgotten.
func (c *Core) recordNextValidators(r ExecutionResult) {
	c.nextValidators[r.Height] = r.NextValidators
	for h := range c.nextValidators {
		if h+forkCheckWindow < r.Height {
			delete(c.nextValidators, h)
		}
	}
}

// checkFork halts when our app hash or results hash for a height differs from the one
// quorum stake attested.
func (c *Core) checkFork(h int64) {
	mine, ok1 := c.executed[h]
	theirs, ok2 := c.quorumResult[h]
	if !ok1 || !ok2 {
		return
	}
	delete(c.executed, h)
	delete(c.quorumResult, h)
	switch {
	case string(mine.app) != string(theirs.app):
		c.halt(fmt.Sprintf("app hash fork at height %d: ours %s, quorum attested %s", h,
			hex.EncodeToString(mine.app), hex.EncodeToString(theirs.app)))
	case string(mine.results) != string(theirs.results):
		c.halt(fmt.Sprintf("results hash fork at height %d: ours %s, quorum attested %s", h,
			hex.EncodeToString(mine.results), hex.EncodeToString(theirs.results)))
	}
}

// collectGarbage evicts everything at or below the linearizer's GC round.
func (c *Core) collectGarbage() {
	gc := c.lin.GCRound()
	if gc <= c.dag.GCRound() {
		return
	}
	c.requeueCollected(c.dag.GCRound(), gc)
	c.relayLost(nil, gc)
	res := c.dag.SetGCRound(gc)
	c.committer.Prune(gc)
	c.absorb(res, -1)
}

func (c *Core) halt(reason string) {
	if c.halted {
		return
	}
	c.halted = true
	c.emit(Halt{Reason: reason})
}
