package core

import "github.com/tutti-bft/tutti/engine/types"

// resync runs every ResyncInterval. A validator that has not proposed since the previous
// check is stuck waiting for blocks: re-sending its own latest block lets peers that lost
// it (to a partition, a drop or their own crash) have it, and fetch whatever it references;
// re-asking for missing blocks covers what it lost itself. A validator making progress sends
// nothing extra, except that a block still missing since the previous check is asked for
// again: a validator that holds a quorum alone never waits for anyone, so neither a leader
// timeout nor a stall ever re-asks on its behalf, and one lost fetch would leave the
// others' blocks suspended in its DAG, and their transactions unordered, for good.
func (c *Core) resync() {
	if c.lastOwnRound == c.resyncSeen {
		if own := c.dag.Latest(c.self); own != nil && own.Round > c.cfg.Epoch.StartRound {
			c.emit(Broadcast{Block: own})
		}
		c.refetchMissing(nil)
	} else {
		c.refetchMissing(c.missingAtResync)
	}
	c.missingAtResync = make(map[types.Ref]bool, len(c.missing))
	for r := range c.missing {
		c.missingAtResync[r] = true
	}
	c.resyncSeen = c.lastOwnRound
	c.emit(SetTimer{Kind: Resync, At: c.now.Add(c.cfg.ResyncInterval)})
}
