package rpc

import (
	"net"
	"sync"
)

// clientSlots bounds how many requests of one kind each client (by IP) has in progress:
// a broad tx_search or block_search (EXISTS, or CONTAINS an empty string) over a large index costs 0.1
// to 0.5 s of CPU, and nothing else stops one client from running them by the dozen.
type clientSlots struct {
	mu   sync.Mutex
	max  int
	used map[string]int
}

func newClientSlots(max int) *clientSlots { return &clientSlots{max: max, used: map[string]int{}} }

// acquire takes a slot for the client at remoteAddr, or reports false when it has max.
func (c *clientSlots) acquire(remoteAddr string) (release func(), ok bool) {
	client := remoteAddr
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		client = host
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used[client] >= c.max {
		return nil, false
	}
	c.used[client]++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.used[client]--; c.used[client] <= 0 {
			delete(c.used, client)
		}
	}, true
}
