package core

import (
	"github.com/tutti-bft/tutti/engine/types"
)

// tryPropose runs the threshold clock: once the DAG holds quorum stake at round r-1 we may
// propose at r, when all of r-1's leader blocks are here or the leader timeout fired, and
// no sooner than MinRoundDelay after our last proposal. It reports whether it proposed.
func (c *Core) tryPropose() bool {
	if c.self < 0 || c.change != nil {
		return false // not a member, or the epoch ended and the next one has not started here
	}
	r := c.dag.HighestQuorumRound() + 1
	if r <= c.lastOwnRound {
		return false
	}
	if r > c.lin.LastLeaderRound()+c.cfg.MaxUncommittedRounds {
		// Back-pressure: this bound is what lets the next epoch start above every round an
		// honest validator signed in this one.
		return false
	}
	if r != c.roundEntered {
		c.roundEntered, c.timedOut = r, false
		c.emit(SetTimer{Kind: LeaderTimeout, Round: r, At: c.now.Add(c.cfg.LeaderTimeout)})
	}
	if !c.timedOut && !c.leadersPresent(r-1) {
		return false
	}
	if earliest := c.lastProposalAt.Add(c.cfg.MinRoundDelay); !c.lastProposalAt.IsZero() && c.now.Before(earliest) {
		if c.minDelayArmedAt != r {
			c.minDelayArmedAt = r
			c.emit(SetTimer{Kind: MinDelay, Round: r, At: earliest})
		}
		return false
	}
	return c.propose(r)
}

// leadersPresent reports whether every leader slot of the round holds a block. Authors
// the reputation schedule demoted hold no slot, so nobody waits for them.
func (c *Core) leadersPresent(round uint64) bool {
	if round <= c.cfg.Epoch.StartRound {
		return true
	}
	for _, a := range c.committer.Schedule().Leaders(round) {
		if len(c.dag.SlotBlocks(types.Slot{Round: round, Author: a})) == 0 {
			return false
		}
	}
	return true
}

// parents lists our own previous block first, then every other author's latest block we
// hold below round r that we have not referenced yet, never two blocks of one slot.
func (c *Core) parents(r uint64) []*types.Block {
	own := c.dag.Latest(c.self)
	out := []*types.Block{own}
	for a := 0; a < c.cfg.Epoch.Committee.Size(); a++ {
		if a == c.self {
			continue
		}
		b := c.dag.Latest(a)
		if b != nil && b.Round >= r {
			// The author is ahead of us: take its block of the previous round, if held.
			b = nil
			if s := c.dag.SlotBlocks(types.Slot{Round: r - 1, Author: a}); len(s) > 0 {
				b = s[0]
			}
		}
		if b == nil || b.Round <= c.included[a] || b.Round <= c.dag.GCRound() && b.Round != r-1 {
			continue
		}
		out = append(out, b)
	}
	return out
}

// propose builds, signs and stores our block for round r, then persists (synced) and
// broadcasts it. It carries the relayed transactions we take over first, then ours in
// order, up to the first whose relay barrier is not clear yet (relay.go).
func (c *Core) propose(r uint64) bool {
	parents := c.parents(r)
	refs := make([]types.Ref, len(parents))
	t := c.now.UnixMilli()
	for i, p := range parents {
		refs[i] = p.Ref()
		if p.TimeMs > t {
			t = p.TimeMs
		}
	}
	b := &types.Block{Epoch: c.cfg.Epoch.Number, Round: r, Author: c.self, TimeMs: t, Parents: refs,
		Attestation: c.attestation}
	carry, clearThrough := c.relayPlan(parents, c.cfg.MaxBlockTxs, c.cfg.MaxBlockTxBytes)
	bytes := 0
	for _, f := range carry {
		bytes += len(f.tx)
	}
	n := 0
	q := &c.pending
	for n < q.len() && len(carry)+n < c.cfg.MaxBlockTxs && bytes+len(q.txs[n]) <= c.cfg.MaxBlockTxBytes && q.barriers[n] <= clearThrough {
		bytes += len(q.txs[n])
		n++
	}
	var barriers []uint64
	if len(carry) == 0 {
		b.Txs, barriers = q.txs[:n:n], q.barriers[:n:n]
	} else {
		b.Txs, barriers = mergeByAdmission(carry, q.txs[:n], q.barriers[:n])
	}
	ev := len(c.pendingEvidence)
	if ev > c.cfg.Limits.MaxEvidence {
		ev = c.cfg.Limits.MaxEvidence
	}
	b.Evidence = c.pendingEvidence[:ev:ev]
	if err := b.Sign(c.cfg.ChainID, c.signer); err != nil {
		// The signer refused (its watermark is past this round) or failed: never build a
		// second block for the round. Move past it.
		c.lastOwnRound = r
		return false
	}
	if _, err := c.dag.AddOwn(b); err != nil {
		c.halt("own block rejected: " + err.Error())
		return false
	}
	q.take(n)
	for _, f := range carry {
		c.resolve(f)
	}
	if c.relay.through > 0 && len(b.Txs) > 0 {
		if c.ownBarriers == nil {
			c.ownBarriers = map[uint64][]uint64{}
		}
		c.ownBarriers[r] = barriers
	}
	c.pendingEvidence = c.pendingEvidence[ev:]
	c.attestation = nil
	for _, p := range parents {
		if p.Round > c.included[p.Author] {
			c.included[p.Author] = p.Round
		}
	}
	c.lastOwnRound, c.lastProposalAt = r, c.now
	c.sendOwn(b)
	return true
}

// sendOwn persists the block durably, then broadcasts it: a crash between the two leaves a
// block we remember, never one others hold and we forgot (which would make us equivocate).
func (c *Core) sendOwn(b *types.Block) {
	if c.cfg.Mutations.BroadcastBeforePersist {
		c.emit(Broadcast{Block: b})
		c.emit(Persist{Blocks: []*types.Block{b}, Sync: true})
		return
	}
	c.emit(Persist{Blocks: []*types.Block{b}, Sync: true})
	c.emit(Broadcast{Block: b})
}

// mergeByAdmission interleaves carried relayed transactions (in Seq order) with ours (in
// order, with non-decreasing barriers) as the mempool admitted them: each of ours after the
// relayed ones its barrier counts. It returns each transaction's barrier too, a carried one
// counting the relayed ones before it, for when the block has to be proposed again.
func mergeByAdmission(carry []*fallback, ours [][]byte, barriers []uint64) ([][]byte, []uint64) {
	out := make([][]byte, 0, len(carry)+len(ours))
	bars := make([]uint64, 0, len(carry)+len(ours))
	next := 0
	for i, tx := range ours {
		for next < len(carry) && carry[next].seq <= barriers[i] {
			out, bars = append(out, carry[next].tx), append(bars, carry[next].seq-1)
			next++
		}
		out, bars = append(out, tx), append(bars, barriers[i])
	}
	for ; next < len(carry); next++ {
		out, bars = append(out, carry[next].tx), append(bars, carry[next].seq-1)
	}
	return out, bars
}
