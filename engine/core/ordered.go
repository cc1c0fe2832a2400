package core

import (
	"crypto/sha256"

	"github.com/tutti-bft/tutti/engine/order"
)

// A transaction this node ordered must never go into one of its blocks again, yet several
// paths can bring it back: our block that carried it went unordered and is requeued
// (another validator's copy was ordered), an epoch change re-proposes what the old one left
// unordered, and the mempool offers it again until this node has executed it. The
// linearizer drops a copy ordered within DedupeRounds, but an executor that lags (a slow
// app, up to the runtime's lag limit) can keep the mempool offering it longer than that,
// and an own queue can hold it as long. So the core remembers what it ordered until it has
// executed the height that holds it (the mempool forgets it there and refuses it from then
// on, from its cache), and drops it wherever it would be proposed again.

// orderedTxs are the transactions ordered and not yet executed here, by the height that
// holds them at the latest.
type orderedTxs struct {
	byHash   map[[sha256.Size]byte]int64
	byHeight map[int64][][][sha256.Size]byte // the commits' hash lists, not copied
}

// noteOrdered remembers a commit's transactions and drops them from our queue.
func (c *Core) noteOrdered(cm order.Commit) {
	if len(cm.TxHashes) == 0 {
		return
	}
	o := &c.ordered
	if o.byHash == nil {
		o.byHash, o.byHeight = map[[sha256.Size]byte]int64{}, map[int64][][][sha256.Size]byte{}
	}
	// They are in a height already cut, or in the next one (the cutter may hold them).
	at := c.lastHeight + 1
	for _, h := range cm.TxHashes {
		o.byHash[h] = at
	}
	o.byHeight[at] = append(o.byHeight[at], cm.TxHashes)
	if c.pending.len() > 0 {
		c.pending.dropIf(c.orderedHash)
	}
}

// forgetExecuted forgets what heights up to through held.
func (c *Core) forgetExecuted(through int64) {
	o := &c.ordered
	for height, lists := range o.byHeight {
		if height > through {
			continue
		}
		for _, hashes := range lists {
			for _, h := range hashes {
				if o.byHash[h] == height {
					delete(o.byHash, h)
				}
			}
		}
		delete(o.byHeight, height)
	}
}

func (c *Core) orderedHash(h [sha256.Size]byte) bool {
	_, ok := c.ordered.byHash[h]
	return ok || c.lin.Ordered(h)
}

// notOrdered keeps the transactions (and their barriers, when given) never ordered here.
func (c *Core) notOrdered(txs [][]byte, barriers []uint64) ([][]byte, []uint64) {
	keep := 0
	for i, tx := range txs {
		if c.orderedHash(sha256.Sum256(tx)) {
			continue
		}
		txs[keep] = tx
		if barriers != nil {
			barriers[keep] = barriers[i]
		}
		keep++
	}
	if barriers != nil {
		barriers = barriers[:keep]
	}
	return txs[:keep], barriers
}
