package core

import (
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

// A block of ours that no committed leader ordered before its round fell to the GC round
// can never be ordered: the linearizer walks no parent at or below that round. That happens
// when our blocks reach the others late (a clogged link, a validator that holds a quorum
// alone and races ahead): the others reference the latest block they hold of ours, and ours
// arrive already below their GC round. The transactions in such a block were acknowledged
// to clients, so they go back to the front of our queue and ride in our next block, as Sui
// re-submits the transactions of garbage-collected blocks.

// noteOwnOrdered remembers the rounds of our blocks a commit ordered.
func (c *Core) noteOwnOrdered(cm order.Commit) {
	for _, b := range cm.Blocks {
		if b.Author == c.self {
			c.ownOrdered[b.Round] = true
			delete(c.ownBarriers, b.Round)
		}
	}
}

// requeueCollected puts back the transactions of our unordered blocks in (from, to], the
// rounds the DAG is about to collect, ahead of anything not yet proposed.
//
// A replay (Restore) does not: the previous run put them back already and proposed them
// again in blocks it stored, or lost them with its mempool, so they are never queued twice.
func (c *Core) requeueCollected(from, to uint64) {
	var txs [][]byte
	var barriers []uint64
	if c.self >= 0 && !c.restoring {
		// Another validator's copy of one may have been ordered (ordered.go).
		txs, barriers = c.notOrdered(c.unorderedOwnTxsIn(max(from, c.cfg.Epoch.StartRound), to))
	}
	for r := range c.ownOrdered {
		if r <= to {
			delete(c.ownOrdered, r)
		}
	}
	for r := range c.ownBarriers {
		if r <= to {
			delete(c.ownBarriers, r)
		}
	}
	if len(txs) == 0 {
		return
	}
	c.requeued += uint64(len(txs))
	c.pending.pushFront(txs, barriers)
}

// unorderedOwnTxsIn lists, in round order, the transactions of our blocks in rounds
// (from, to] that no commit ordered (ownOrdered records every own block a commit ordered,
// also after the linearizer forgot the slot at its GC round), with the relay barriers they
// had when we proposed them: proposed again, they keep their place among relayed ones.
func (c *Core) unorderedOwnTxsIn(from, to uint64) (txs [][]byte, barriers []uint64) {
	for r := from + 1; r <= to; r++ {
		if c.ownOrdered[r] {
			continue
		}
		// Only the first block of the slot: the one we built (a twin would be another's
		// forgery or our own lost history, and its transactions are not ours to re-send).
		if blocks := c.dag.SlotBlocks(types.Slot{Round: r, Author: c.self}); len(blocks) > 0 {
			txs = append(txs, blocks[0].Txs...)
			if bars := c.ownBarriers[r]; len(bars) == len(blocks[0].Txs) {
				barriers = append(barriers, bars...)
			} else {
				barriers = append(barriers, make([]uint64, len(blocks[0].Txs))...)
			}
		}
	}
	return txs, barriers
}
