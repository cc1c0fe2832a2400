package node

import (
	"errors"
	"fmt"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/drive"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// host is the node's side of the driver (drive.Host): the store, the p2p switch, timers
// and the log.
type host struct{ n *Node }

var _ drive.Host = host{}

// Persist writes synchronously: a synced batch is durable when it returns.
func (h host) Persist(p core.Persist) (bool, error) {
	if err := h.n.store.Persist(p); err != nil {
		return false, fmt.Errorf("persist blocks: %w; the node stops rather than send what it could not store", err)
	}
	if p.Sync {
		crashpoint("persist") // synced own block, not yet sent
	}
	return false, nil
}

func (h host) Broadcast(b *types.Block) {
	h.n.broadcast(wire.BlockMessage(b))
	h.n.ownBlockSent(b.Round)
}

func (h host) Send(peer int, m wire.Message) { h.n.sendTo(peer, m) }

func (h host) ServeStored(s core.ServeStored) { h.n.serveStored(s) }

func (h host) SetTimer(t core.SetTimer) { h.n.setTimer(t) }

func (h host) Evidence(e types.Equivocation) {
	h.n.log.Warn().Int("author", e.Author).Uint64("round", e.Round).Uint64("epoch", e.Epoch).
		Msg("a validator signed two blocks for one round; the evidence is ordered and reported to the app")
}

func (h host) Declined(txs [][]byte) {
	h.n.pool.Return(txs)
	h.n.prop.batchQueued = false // the core gave the list back: the next may be prepared
}

func (h host) Halted(reason string) {
	h.n.log.Error().Str("reason", reason).Msg("engine halted: this node's state disagrees with a quorum; " +
		"stop it, check the app for non-determinism, and resync its data")
}

func (h host) Failed(err error) {
	if errors.Is(err, drive.ErrSentBeforePersist) {
		err = fmt.Errorf("%w: a bug in the engine, nothing was sent; report it with this log", err)
	}
	h.n.fail(err)
}
