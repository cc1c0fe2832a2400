package sim

import (
	"fmt"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/drive"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// An instance is its driver's host (drive.Host), as the node is: the simulated disk and
// network stand where the node has its store and p2p switch.
var _ drive.Host = (*instance)(nil)

// Persist writes to the simulated disk; a synced write takes fsyncDelay of virtual time,
// and a crash before it ends loses it.
func (n *instance) Persist(p core.Persist) (bool, error) {
	recs := make([]record, len(p.Blocks))
	for j, b := range p.Blocks {
		recs[j] = record{block: b}
	}
	n.disk.write(recs)
	if !p.Sync {
		return false, nil
	}
	inc := n.incarnation
	n.s.sched.after(fsyncDelay, fmt.Sprintf("fsync %d", n.id), func() {
		if inc != n.incarnation {
			return
		}
		n.disk.sync()
		n.drv.Synced()
		n.pump()
	})
	return true, nil
}

func (n *instance) Broadcast(b *types.Block) { n.sendOwn(b) }

func (n *instance) Send(peer int, m wire.Message) { n.sendTo(peer, m) }

func (n *instance) ServeStored(s core.ServeStored) {
	if blocks := n.disk.serve(s); len(blocks) > 0 {
		n.sendTo(s.Peer, wire.FetchResponseMessage(blocks))
	}
}

func (n *instance) SetTimer(t core.SetTimer) { n.setTimer(t) }

func (n *instance) Evidence(e types.Equivocation) {
	n.s.sched.note("evidence %d author=%d round=%d", n.id, e.Author, e.Round)
}

func (n *instance) Declined(txs [][]byte) { n.pool.Return(txs) }

func (n *instance) Halted(reason string) {
	n.halted = true
	n.s.halted(n, reason)
}

// Failed: the driver stopped; for a correct core that is a violation (P1 when the core
// sent an own block before its synced persist).
func (n *instance) Failed(err error) {
	n.halted = true
	n.s.violate("P1", fmt.Sprintf("instance %d: %v", n.id, err))
}
