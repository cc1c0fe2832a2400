package mempool

import cmttypes "github.com/cometbft/cometbft/types"

// hashCache remembers the most recent transaction hashes, evicting the oldest first, so a
// duplicate sent soon after the original (or after its commit) is refused cheaply.
type hashCache struct {
	capacity int
	set      map[cmttypes.TxKey]struct{}
	ring     []cmttypes.TxKey
	next     int
}

func newHashCache(capacity int) *hashCache {
	return &hashCache{capacity: capacity, set: make(map[cmttypes.TxKey]struct{}, capacity)}
}

func (c *hashCache) has(k cmttypes.TxKey) bool {
	_, ok := c.set[k]
	return ok
}

func (c *hashCache) add(k cmttypes.TxKey) {
	if c.capacity <= 0 || c.has(k) {
		return
	}
	if len(c.ring) < c.capacity {
		c.ring = append(c.ring, k)
	} else {
		delete(c.set, c.ring[c.next])
		c.ring[c.next] = k
		c.next = (c.next + 1) % c.capacity
	}
	c.set[k] = struct{}{}
}

// remove forgets k; its slot in the ring stays until it is overwritten, which only costs
// a little capacity.
func (c *hashCache) remove(k cmttypes.TxKey) { delete(c.set, k) }
