package core

// resync runs every ResyncInterval. A validator that has not proposed since the previous
// check is stuck waiting for blocks: re-sending its own latest block lets peers that lost
// it (to a partition, a drop or their own crash) have it, and fetch whatever it references;
// re-asking for missing blocks covers what it lost itself. A validator making progress sends
// nothing extra.
func (c *Core) resync() {
	if c.lastOwnRound == c.resyncSeen {
		if own := c.dag.Latest(c.self); own != nil && own.Round > c.cfg.Epoch.StartRound {
			c.emit(Broadcast{Block: own})
		}
		c.refetchMissing()
	}
	c.resyncSeen = c.lastOwnRound
	c.emit(SetTimer{Kind: Resync, At: c.now.Add(c.cfg.ResyncInterval)})
}
