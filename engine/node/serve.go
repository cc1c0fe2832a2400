package node

import (
	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/wire"
)

// maxServing bounds the storage reads answering peers that catch up, so requests cannot
// pile up goroutines; a request beyond it is dropped and the peer asks again.
const maxServing = 2

// serveStored answers a peer that is catching up with blocks read from the store, off the
// loop (a range read takes a few milliseconds the loop should not wait for).
func (n *Node) serveStored(req core.ServeStored) {
	select {
	case n.serving <- struct{}{}:
	default:
		n.log.Debug().Int("peer", req.Peer).Msg("busy serving stored blocks; a catch-up request was dropped")
		return
	}
	n.bg.Add(1) // Run waits for it before it returns, so Close never closes the store under it
	go func() {
		defer n.bg.Done()
		defer func() { <-n.serving }()
		blocks, err := n.store.BlocksToServe(req)
		if err != nil {
			n.log.Error().Err(err).Msg("reading stored blocks for a peer that catches up failed; check the database")
			return
		}
		if len(blocks) > 0 {
			n.sendTo(req.Peer, wire.FetchResponseMessage(blocks))
		}
	}()
}
