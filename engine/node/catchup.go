package node

import (
	"sync/atomic"
	"time"

	"github.com/tutti-bft/tutti/engine/core"
)

// catchUpLag is how many heights the executor may trail the core's cut before the node
// counts as behind. A node in step with the network has executed height h-2 at least when
// h is cut (the cut of h needs a quorum's attestations of h-1, and this node's execution
// keeps pace with the quorum's), so the gap stays within 2; a larger one means heights are
// being cut on other validators' attestations while this node works through them.
const catchUpLag = 5

// catchUp is status' catching_up, from two things the node knows: the gap between the
// heights the core cut and those the executor finished, and whether the core asked a peer
// for a sync lately. The core asks only while a peer's blocks are more than SyncGapRounds
// above what it holds or come from a later epoch, and while it stays behind it asks again
// after each answer that moved it forward and, if an answer does not come, at the second
// resync check at the latest; so a sync request within three resync intervals means the
// core still counts itself behind.
type catchUp struct {
	window time.Duration // set before the loop starts
	// seen is the core's sync request count at the previous observation; loop only.
	seen uint64
	// lastSync is when that count last grew, in Unix nanoseconds; zero if it never did.
	lastSync atomic.Int64
}

// syncWindow is how long a sync request keeps the node catching up: three of the core's
// resync intervals (whose zero means 2 × LeaderTimeout, core.Config).
func syncWindow(c core.Config) time.Duration {
	resync := c.ResyncInterval
	if resync <= 0 {
		resync = 2 * c.LeaderTimeout
	}
	return 3 * resync
}

// observe takes the core's sync request count; call it from the loop goroutine only.
func (c *catchUp) observe(syncRequests uint64, now func() time.Time) {
	if syncRequests != c.seen {
		c.seen = syncRequests
		c.lastSync.Store(now().UnixNano())
	}
}

// behind decides from the last cut and executed heights; safe from any goroutine.
func (c *catchUp) behind(cut, executed int64, now time.Time) bool {
	if cut-executed > catchUpLag {
		return true
	}
	last := c.lastSync.Load()
	return last != 0 && now.Sub(time.Unix(0, last)) < c.window
}

// catchingUp is the RPC's view of catchUp.
func (n *Node) catchingUp() bool {
	return n.catchUp.behind(n.cutHeight.Load(), n.height.Load(), time.Now())
}
