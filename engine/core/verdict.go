package core

import "github.com/tutti-bft/tutti/engine/types"

// ProcessProposal's verdict reaches the core as an input, never as a call: the runtime asks
// the app off the event loop and feeds only rejections back (DESIGN §3: "ProcessProposal is
// an advisory filter before a block is referenced").
//
// A rejected block is not supported: our next block does not reference it as a parent, the
// DAG's analogue of CometBFT's prevote for nil. Three things keep this advisory:
//   - it changes only which parents this validator chooses, which is its own signed
//     choice; every node orders the same DAG with the same rules, so agreement does not
//     depend on any node's verdicts;
//   - a verdict that arrives after we proposed changes nothing (nothing waits for the app);
//   - when leaving the rejected blocks out would leave our block without quorum stake at
//     the previous round (an app that rejects most blocks), they are referenced anyway, so
//     a verdict can never stop this validator from proposing.
//
// A block rejected by every honest validator gets no honest votes and is skipped as a
// leader; its transactions are still ordered if another block that is ordered references it.

// ProposalRejected: the app's ProcessProposal rejected this peer block.
type ProposalRejected struct{ Ref types.Ref }

func (ProposalRejected) isInput() {}

// rejectProposal remembers a rejected block until it falls below the GC round (a block at
// the GC round may still be a parent).
func (c *Core) rejectProposal(ref types.Ref) {
	gc := c.dag.GCRound()
	for r := range c.rejectedRefs {
		if r.Round < gc {
			delete(c.rejectedRefs, r)
		}
	}
	if ref.Round < gc || ref.Author == c.self {
		return
	}
	if c.rejectedRefs == nil {
		c.rejectedRefs = map[types.Ref]struct{}{}
	}
	c.rejectedRefs[ref] = struct{}{}
}

// proposalRejected reports whether the app rejected b.
func (c *Core) proposalRejected(b *types.Block) bool {
	if len(c.rejectedRefs) == 0 {
		return false
	}
	_, ok := c.rejectedRefs[b.Ref()]
	return ok
}

// keepQuorum adds back withheld (rejected) blocks of round r-1 while the chosen parents of
// that round hold less than quorum stake: a block needs a quorum of parents one round below
// it, and the app's verdicts must never stop us from proposing.
func (c *Core) keepQuorum(r uint64, parents, withheld []*types.Block) []*types.Block {
	if len(withheld) == 0 {
		return parents
	}
	committee := c.cfg.Epoch.Committee
	var stake int64
	for _, p := range parents {
		if p != nil && p.Round == r-1 {
			stake += committee.Power(p.Author)
		}
	}
	for _, w := range withheld {
		if committee.IsQuorum(stake) {
			break
		}
		if w.Round == r-1 {
			parents = append(parents, w)
			stake += committee.Power(w.Author)
		}
	}
	return parents
}
