package core

import (
	"sort"

	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// Catching up. A node that fell behind (restarted after a long stop, or a full node that
// joins late) would otherwise fetch the DAG one parent level per round trip, top down,
// holding everything it fetched in memory until the chain reaches what it has, and could
// not get blocks its peers have collected at all. Instead, once a peer's block is more than
// SyncGapRounds above what we hold, or comes from a later epoch, we ask that peer for the
// blocks of our epoch above what we hold, oldest first (a SyncRequest); each answer is
// accepted at once (its parents are below it) and, while still behind, we ask again right
// away. Peers answer from memory above their GC round and from storage below it, so how
// long a node was away does not matter. The blocks are validated and ordered like any
// other: catching up replays the DAG, it trusts no one.

// observePeerBlock notes how far ahead a peer's block is and starts a sync when we are
// behind.
func (c *Core) observePeerBlock(from int, b *types.Block) {
	if from < 0 || from == c.self {
		return
	}
	switch {
	case b.Epoch > c.cfg.Epoch.Number:
		c.syncLaterEpoch = true
	case b.Epoch == c.cfg.Epoch.Number && b.Round > c.syncTarget:
		c.syncTarget = b.Round
	default:
		return
	}
	if c.behind() && c.syncPeer < 0 {
		c.requestSync(from)
	}
}

// behind reports whether we are far enough behind to sync rather than fetch parents.
func (c *Core) behind() bool {
	return c.syncLaterEpoch || c.syncTarget > c.dag.HighestRound()+c.cfg.SyncGapRounds
}

// farAbove reports whether a missing ref is left to the sync: we are behind and it is
// more than SyncGapRounds above what we hold.
func (c *Core) farAbove(r types.Ref) bool {
	return c.behind() && r.Round > c.dag.HighestRound()+c.cfg.SyncGapRounds
}

// askNearMissing asks peer for the refs we remembered while they were far above us and
// are now near: the sync answers from our quorum frontier up, so a block of a slower author
// just below it comes only this way.
func (c *Core) askNearMissing(peer int) {
	var ask []types.Ref
	for r, asked := range c.missing {
		if asked == 0 && !c.farAbove(r) && !c.dag.Contains(r) && r.Round > c.dag.GCRound() {
			c.missing[r] = 1
			ask = append(ask, r)
		}
	}
	if len(ask) == 0 {
		return
	}
	sortRefs(ask)
	c.emit(RequestBlocks{Peer: peer, Refs: ask})
}

// requestSync asks peer for the blocks of our epoch above what we hold.
func (c *Core) requestSync(peer int) {
	highest := make([]uint64, c.cfg.Epoch.Committee.Size())
	for a := range highest {
		if b := c.dag.Latest(a); b != nil {
			highest[a] = b.Round
		}
	}
	c.syncPeer, c.syncAsked, c.syncEpoch = peer, c.now, c.cfg.Epoch.Number
	c.syncRequests++
	c.emit(SendTo{Peer: peer, Msg: wire.SyncRequestMessage(c.cfg.Epoch.Number, highest)})
}

// syncAnswered follows a fetch response from the peer we are syncing from: while still
// behind, ask it for the next batch at once if this one moved us forward.
func (c *Core) syncAnswered(from int, highestBefore uint64) {
	if from != c.syncPeer {
		return
	}
	c.syncPeer = -1
	c.askNearMissing(from)
	progressed := c.dag.HighestRound() > highestBefore || c.cfg.Epoch.Number != c.syncEpoch
	if !progressed {
		// The peer has nothing of our epoch above what we hold: a later epoch it runs (or
		// a forged block claiming one) is no reason to keep asking.
		c.syncLaterEpoch = false
	}
	if !c.behind() {
		c.syncTarget, c.syncLaterEpoch = 0, false
		return
	}
	if progressed {
		c.requestSync(from)
	}
}

// epochOfRound names the epoch a round of ours belongs to: rounds only grow across epochs.
func (c *Core) epochOfRound(round uint64) uint64 {
	if round > c.cfg.Epoch.StartRound {
		return c.cfg.Epoch.Number
	}
	for i := len(c.past) - 1; i >= 0; i-- {
		if round > c.past[i].dag.Epoch().StartRound {
			return c.past[i].number
		}
	}
	if c.cfg.Epoch.Number == 0 {
		return 0
	}
	return c.cfg.Epoch.Number - 1 // older than we keep: storage searches from here down
}

// syncStalled runs at each resync check: a sync request that got no useful answer within
// a check interval goes to the next peer in turn.
func (c *Core) syncStalled() {
	if !c.behind() {
		c.syncPeer, c.syncTarget, c.syncLaterEpoch = -1, 0, false
		return
	}
	if c.syncPeer >= 0 && c.now.Sub(c.syncAsked) < c.cfg.ResyncInterval {
		return
	}
	n := c.cfg.Epoch.Committee.Size()
	next := (max(c.syncPeer, c.syncLastPeer) + 1) % n
	if next == c.self {
		next = (next + 1) % n
	}
	if next != c.self {
		c.syncLastPeer = next
		c.requestSync(next)
	}
}

// answerSync serves a peer's SyncRequest: from memory when everything it lacks is above
// the GC round of that epoch's DAG (the one we run, or one we keep), else from storage.
func (c *Core) answerSync(in SyncRequested) {
	if in.From < 0 || in.From == c.self || in.Epoch > c.cfg.Epoch.Number {
		return
	}
	from := c.syncFloor(in.Epoch, in.Highest)
	req := ServeStored{Peer: in.From, Epoch: in.Epoch, FromRound: from, Highest: in.Highest,
		MaxBlocks: c.cfg.FetchBatch, MaxPayloadBytes: c.cfg.Limits.MaxPayloadBytes}
	d := c.dag
	if in.Epoch < c.cfg.Epoch.Number {
		d = nil
		for _, p := range c.past {
			if p.number == in.Epoch {
				d = p.dag
			}
		}
	}
	if d == nil || from <= d.GCRound() {
		c.servedFromStorage++
		c.emit(req)
		return
	}
	var found []*types.Block
	bytes := 0
	for r := from; r <= d.HighestRound(); r++ {
		for _, b := range d.RoundBlocks(r) {
			if !req.Wants(b) {
				continue
			}
			if !req.Fits(len(found), bytes, b.PayloadBytes()) {
				c.emit(SendTo{Peer: in.From, Msg: wire.FetchResponseMessage(found)})
				return
			}
			found = append(found, b)
			bytes += b.PayloadBytes()
		}
	}
	if len(found) > 0 {
		c.emit(SendTo{Peer: in.From, Msg: wire.FetchResponseMessage(found)})
	}
}

// syncFloor is the lowest round a sync answer starts at: just above the round the peer
// holds a quorum of, the frontier it builds on, or lower for an author a little behind it.
// (Blocks of authors far below it that it still needs are referenced from above and
// fetched by ref, from storage if need be.)
func (c *Core) syncFloor(epoch uint64, highest []uint64) uint64 {
	var committee *types.Committee
	start := uint64(0)
	if epoch == c.cfg.Epoch.Number {
		committee, start = c.cfg.Epoch.Committee, c.cfg.Epoch.StartRound
	} else {
		for _, p := range c.past {
			if p.number == epoch {
				committee, start = p.dag.Committee(), p.dag.Epoch().StartRound
			}
		}
	}
	if committee == nil || len(highest) != committee.Size() {
		// An epoch we no longer know the committee of: start at its lowest round held.
		floor := uint64(0)
		for i, h := range highest {
			if i == 0 || h < floor {
				floor = h
			}
		}
		return floor + 1
	}
	// The highest round r such that authors holding a block at r or above have quorum stake.
	order := make([]int, len(highest))
	for i := range order {
		order[i] = i
	}
	// Authors by their highest round, descending; stake is added until a quorum.
	sort.SliceStable(order, func(i, j int) bool { return highest[order[i]] > highest[order[j]] })
	tally := committee.NewTally()
	frontier := start
	for _, a := range order {
		tally.Add(a)
		if tally.Quorum() {
			frontier = max(highest[a], start)
			break
		}
	}
	// Authors just below the frontier (slower, not crashed) need their next blocks too:
	// the frontier's blocks reference them. Those far below are left to fetches by ref.
	floor := frontier
	for _, h := range highest {
		if h < floor && h+c.cfg.SyncGapRounds >= frontier {
			floor = max(h, start)
		}
	}
	return floor + 1
}
