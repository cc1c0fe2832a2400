package core

import (
	"errors"
	"sort"
	"time"

	"github.com/tutti-bft/tutti/engine/dag"
	"github.com/tutti-bft/tutti/engine/types"
)

// A block stamped more than MaxForwardTimeDrift ahead of our clock is held back, validated
// but outside the DAG, until our clock comes within the drift of its time. Since a block is
// never older than its parents, a block we reference is then never stamped more than the
// drift ahead of our clock, nor is our own (the latest of our clock and its parents' times),
// and a commit's time, the stake-weighted median of a quorum's times, stays within the
// drift of honest clocks whatever up to f validators stamp (PROTOCOL.md §4.2). Holding
// only delays: an honest block whose author's clock runs ahead is admitted once ours
// catches up.

// maxHeldPerAuthor bounds what one author's future-stamped blocks can hold here: only its
// latest few are kept (a dropped one is fetched again if someone references it).
const maxHeldPerAuthor = 4

// heldBlock is one block waiting for our clock.
type heldBlock struct {
	from      int
	block     *types.Block
	broadcast bool
}

// holdIfEarly holds a block of our epoch stamped too far ahead of our clock and reports
// whether it did. Only validly signed blocks within the rounds the DAG accepts are held.
func (c *Core) holdIfEarly(from int, b *types.Block, broadcast bool) bool {
	if c.restoring || c.cfg.Mutations.NoTimeHold || b.TimeMs <= c.holdHorizon() {
		return false
	}
	if c.dag.Contains(b.Ref()) || c.isHeld(b.Ref()) {
		return true
	}
	if err := c.dag.Check(b); err != nil {
		if errors.Is(err, dag.ErrInvalid) {
			c.rejected++
		}
		return true
	}
	if b.Author == c.self && b.Round > c.lastOwnRound {
		c.lastOwnRound = b.Round // as receive does: never sign a round we once signed
	}
	c.heldBack++
	c.held = append(c.held, heldBlock{from: from, block: b, broadcast: broadcast})
	c.trimHeld(b.Author)
	c.armHoldTimer()
	return true
}

// holdHorizon is the latest block time we admit now, in milliseconds.
func (c *Core) holdHorizon() int64 { return c.now.Add(c.cfg.MaxForwardTimeDrift).UnixMilli() }

func (c *Core) isHeld(r types.Ref) bool {
	for _, h := range c.held {
		if h.block.Ref() == r {
			return true
		}
	}
	return false
}

// trimHeld keeps an author's latest maxHeldPerAuthor held blocks.
func (c *Core) trimHeld(author int) {
	n := 0
	for _, h := range c.held {
		if h.block.Author == author {
			n++
		}
	}
	for n > maxHeldPerAuthor {
		oldest := -1
		for i, h := range c.held {
			if h.block.Author == author && (oldest < 0 || h.block.Round < c.held[oldest].block.Round) {
				oldest = i
			}
		}
		c.held = append(c.held[:oldest], c.held[oldest+1:]...)
		n--
	}
}

// releaseHeld admits, in round order, the held blocks our clock has come within the drift
// of, and drops those the DAG has moved past.
func (c *Core) releaseHeld() {
	if len(c.held) == 0 {
		return
	}
	horizon := c.holdHorizon()
	var due []heldBlock
	kept := c.held[:0]
	for _, h := range c.held {
		switch {
		case h.block.TimeMs <= horizon:
			due = append(due, h)
		case h.block.Epoch == c.cfg.Epoch.Number && h.block.Round > c.dag.GCRound():
			kept = append(kept, h)
		}
	}
	c.held = kept
	sort.SliceStable(due, func(i, j int) bool {
		a, b := due[i].block, due[j].block
		if a.Round != b.Round {
			return a.Round < b.Round
		}
		return a.Author < b.Author
	})
	for _, h := range due {
		c.receive(h.from, h.block, h.broadcast)
	}
	c.armHoldTimer()
}

// armHoldTimer asks to be woken when the earliest held block becomes due, unless a timer
// for that instant or an earlier one is already pending.
func (c *Core) armHoldTimer() {
	if len(c.held) == 0 {
		return
	}
	earliest := c.held[0].block.TimeMs
	for _, h := range c.held[1:] {
		earliest = min(earliest, h.block.TimeMs)
	}
	at := time.UnixMilli(earliest).Add(-c.cfg.MaxForwardTimeDrift)
	if !c.holdTimerAt.IsZero() && c.holdTimerAt.After(c.now) && !c.holdTimerAt.After(at) {
		return
	}
	c.holdTimerAt = at
	c.emit(SetTimer{Kind: HoldRelease, At: at})
}
