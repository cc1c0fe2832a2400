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
// later rounds, so the decision is re-run from there.
func (c *Core) tryCommit() {
	for !c.halted {
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
			for _, blk := range c.cutter.Add(cm) {
				c.deliver(blk)
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

// forkCheckWindow is how many heights back our own and the quorum's app hashes are kept
// waiting for each other.
const forkCheckWindow = 16

// deliver hands an ABCI block to the runtime after recording the commit progress, and
// checks our own app hash against the quorum's.
func (c *Core) deliver(b order.ABCIBlock) {
	c.lastHeight = b.Height
	if b.Height > c.cfg.Cut.InitialHeight {
		prev := b.Height - 1
		c.quorumAppHash[prev] = b.AppHash
		c.checkFork(prev)
		// Heights this old can no longer meet both sides of the check.
		for h := range c.quorumAppHash {
			if h+forkCheckWindow < prev {
				delete(c.quorumAppHash, h)
			}
		}
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
	c.executed[r.Height] = r.AppHash
	for h := range c.deliveredHash {
		if h < r.Height {
			delete(c.deliveredHash, h)
		}
	}
	c.checkFork(r.Height)
	if len(r.ValidatorUpdates) > 0 {
		// Epoch changes are not implemented yet: running on with a committee the app no
		// longer has would diverge from it, so stop loudly instead.
		c.halt(fmt.Sprintf("height %d returned %d validator updates; epoch change is not implemented",
			r.Height, len(r.ValidatorUpdates)))
	}
}

// checkFork halts when our app hash for a height differs from the one quorum stake attested.
func (c *Core) checkFork(h int64) {
	mine, ok1 := c.executed[h]
	theirs, ok2 := c.quorumAppHash[h]
	if !ok1 || !ok2 {
		return
	}
	delete(c.executed, h)
	delete(c.quorumAppHash, h)
	if string(mine) != string(theirs) {
		c.halt(fmt.Sprintf("app hash fork at height %d: ours %s, quorum attested %s", h,
			hex.EncodeToString(mine), hex.EncodeToString(theirs)))
	}
}

// collectGarbage evicts everything at or below the linearizer's GC round.
func (c *Core) collectGarbage() {
	gc := c.lin.GCRound()
	if gc <= c.dag.GCRound() {
		return
	}
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
