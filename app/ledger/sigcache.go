package ledger

import "sync"

// sigCache remembers the hashes of transactions whose signature verified in
// CheckTx, so FinalizeBlock and rechecks skip the verification. A hash covers
// the whole transaction, signature included, so a hit means these exact bytes
// verified. Bounded: the oldest entry goes first.
type sigCache struct {
	mu   sync.Mutex
	set  map[[32]byte]struct{}
	ring [][32]byte
	next int
}

func newSigCache(size int) *sigCache {
	return &sigCache{set: make(map[[32]byte]struct{}, size), ring: make([][32]byte, 0, size)}
}

func (c *sigCache) add(h [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.set[h]; ok {
		return
	}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, h)
	} else {
		delete(c.set, c.ring[c.next])
		c.ring[c.next] = h
		c.next = (c.next + 1) % len(c.ring)
	}
	c.set[h] = struct{}{}
}

func (c *sigCache) contains(h [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.set[h]
	return ok
}

// forget drops committed transactions: the same bytes can never be valid again.
func (c *sigCache) forget(hs [][32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range hs {
		delete(c.set, h)
	}
}
