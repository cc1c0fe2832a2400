package node

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/mempool"
	"github.com/tutti-bft/tutti/engine/relay"
	"github.com/tutti-bft/tutti/engine/wire"
	"github.com/tutti-bft/tutti/p2p"
)

// Transaction relay on the p2p tx channel (engine/relay decides the routes, the core the
// fallbacks: PROTOCOL.md §2.1). Every transaction this node admits, from a client or
// relayed by a peer after its CheckTx passed here, is passed on: so every node's app has
// seen a client's transaction before the client sends the next one elsewhere, a full node's
// clients reach a validator, and a transaction acknowledged by a validator that crashes is
// still proposed by another.

// Bounds of relay: what each peer may relay to us per second (beyond it, relayed
// transactions are dropped), the batches waiting for CheckTx here, and one batch sent.
const (
	relayPeerTxRate   = 10_000
	relayPeerByteRate = 32 << 20
	relayQueue        = 1024
	relayBatchTxs     = 1000
	relayBatchBytes   = 512 << 10
	// relayWindow is how long the sender waits after a send before the next, so that
	// under load a batch carries what arrived meanwhile, while at low load a transaction
	// goes out at once.
	relayWindow = time.Millisecond
	// relayHandoffWait bounds how long a client's CheckTx waits for its transaction to be on
	// the connection to another validator (relayHandoff).
	relayHandoffWait = 500 * time.Millisecond
)

// relayer is the node's relay state.
type relayer struct {
	in      chan relayIn
	limitMu sync.Mutex
	limit   *relay.Limiter
	outMu   sync.Mutex
	out     *relay.Outbox
	kick    chan struct{} // something is in the outbox
	// handoffs are the clients' transactions in the outbox whose CheckTx waits for them to
	// leave this process (closed once they did, or after relayHandoffWait).
	handoffs []chan struct{}
	ready    chan struct{} // the mempool admitted fallbacks the core has not taken
}

type relayIn struct {
	from  p2p.ID
	owner []byte
	txs   [][]byte
}

func newRelayer() *relayer {
	return &relayer{in: make(chan relayIn, relayQueue), limit: relay.NewLimiter(relayPeerTxRate, relayPeerByteRate),
		out: relay.NewOutbox(relayBatchTxs, relayBatchBytes), kick: make(chan struct{}, 1), ready: make(chan struct{}, 1)}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// receiveRelay runs on a peer's reader goroutine: within the peer's rate, the batch waits
// for the relay worker; beyond it, or with the queue full, it is dropped (the peer's
// consensus messages are never held up behind CheckTx).
func (n *Node) receiveRelay(peer p2p.ID, m *wire.TxRelay) {
	size := 0
	for _, tx := range m.Txs {
		size += len(tx)
	}
	r := n.relay
	r.limitMu.Lock()
	ok := r.limit.Allow(string(peer), time.Now(), len(m.Txs), size)
	r.limitMu.Unlock()
	if !ok {
		n.metrics.relayed("limited", len(m.Txs))
		n.log.Debug().Str("peer", string(peer)).Int("txs", len(m.Txs)).Msg("a peer relays faster than its limit; its transactions were dropped")
		return
	}
	select {
	case r.in <- relayIn{from: peer, owner: m.Owner, txs: m.Txs}:
	default:
		n.metrics.relayed("dropped", len(m.Txs))
	}
}

// relayWorker CheckTxs relayed batches until the loop stops.
func (n *Node) relayWorker(ctx context.Context) {
	for {
		select {
		case <-n.done:
			return
		case b := <-n.relay.in:
			n.admitRelayed(ctx, b)
		}
	}
}

func (n *Node) admitRelayed(ctx context.Context, b relayIn) {
	self, peers := n.relaySelf(), n.relayPeers()
	propose := false
	for _, tx := range b.txs {
		d := relay.Route(self, tx, relay.From{Peer: string(b.from), Owner: b.owner}, peers)
		res, err := n.pool.CheckRelayed(ctx, tx, d.Owner, d.Propose)
		switch {
		case errors.Is(err, mempool.ErrAppFailed):
			n.fail(err)
			return
		case err != nil || res.Code != abci.CodeTypeOK:
			n.metrics.relayed("refused", 1) // known already (the relay's usual end), or invalid here
			continue
		}
		n.metrics.relayed("admitted", 1)
		propose = propose || d.Propose
		n.queueRelay(d, tx)
	}
	signal(n.relay.ready)
	if propose {
		signal(n.txReady)
	}
}

// relayAdmitted passes on a transaction a client of this node sent (on the RPC goroutine),
// and returns a channel closed once it is on the connection to another validator, or after
// relayHandoffWait (nil when no validator peer is connected).
//
// The client's acknowledgement waits for that handoff: a validator killed right after it
// acknowledged a transaction would otherwise take the only copy with it (the relay sits in
// the outbox for up to relayWindow, then in the peer's send queue).
func (n *Node) relayAdmitted(tx []byte) <-chan struct{} {
	peers := n.relayPeers()
	d := relay.Route(n.relaySelf(), tx, relay.From{}, peers)
	var handoff chan struct{}
	for _, p := range peers {
		if p.Validator != nil && slices.Contains(d.To, p.ID) {
			handoff = make(chan struct{})
			break
		}
	}
	n.enqueueRelay(d, tx, handoff)
	return handoff
}

func (n *Node) queueRelay(d relay.Decision, tx []byte) { n.enqueueRelay(d, tx, nil) }

func (n *Node) enqueueRelay(d relay.Decision, tx []byte, handoff chan struct{}) {
	if len(d.To) == 0 {
		return
	}
	r := n.relay
	r.outMu.Lock()
	r.out.Add(d, tx)
	if handoff != nil {
		r.handoffs = append(r.handoffs, handoff)
	}
	r.outMu.Unlock()
	signal(r.kick)
}

// releaseHandoffs closes a batch's handoffs once every message of it to some validator
// peer is on that peer's connection (each such peer got every transaction of the batch it
// was routed), or after relayHandoffWait.
func releaseHandoffs(handoffs []chan struct{}, writtenByPeer map[string][]<-chan struct{}) {
	if len(writtenByPeer) == 0 { // no validator peer took the batch: nothing to wait for
		for _, h := range handoffs {
			close(h)
		}
		return
	}
	done := make(chan struct{})
	var once sync.Once
	for _, written := range writtenByPeer {
		go func() {
			timeout := time.NewTimer(relayHandoffWait)
			defer timeout.Stop()
			for _, w := range written {
				select {
				case <-w:
				case <-timeout.C:
					return
				case <-done:
					return
				}
			}
			once.Do(func() { close(done) })
		}()
	}
	select {
	case <-done:
	case <-time.After(relayHandoffWait):
		once.Do(func() { close(done) })
	}
	for _, h := range handoffs {
		close(h)
	}
}

// relaySender sends what the outbox holds, until the loop stops.
func (n *Node) relaySender() {
	r := n.relay
	for {
		select {
		case <-n.done:
			return
		case <-r.kick:
		}
		r.outMu.Lock()
		msgs, handoffs := r.out.Take(), r.handoffs
		r.handoffs = nil
		r.outMu.Unlock()
		validators := map[string]bool{}
		if len(handoffs) > 0 {
			for _, p := range n.relayPeers() {
				validators[p.ID] = p.Validator != nil
			}
		}
		writtenByPeer := map[string][]<-chan struct{}{}
		for _, m := range msgs {
			bz, err := wire.Encode(wire.TxRelayMessage(m.Owner, m.Txs))
			if err != nil {
				n.fail(err)
				return
			}
			var sent bool
			if validators[m.Peer] {
				var written <-chan struct{}
				if written, sent = n.sw.TrySendWritten(p2p.ID(m.Peer), p2p.ChannelTx, bz); sent {
					writtenByPeer[m.Peer] = append(writtenByPeer[m.Peer], written)
				}
			} else {
				sent = n.sw.TrySend(p2p.ID(m.Peer), p2p.ChannelTx, bz)
			}
			if sent {
				n.metrics.relayed("sent", len(m.Txs))
			} else {
				n.metrics.relayed("unsent", len(m.Txs)) // the peer left, or its tx queue is full
			}
		}
		if len(handoffs) > 0 {
			go releaseHandoffs(handoffs, writtenByPeer)
		}
		select {
		case <-n.done:
			return
		case <-time.After(relayWindow):
		}
	}
}

// relaySelf is this node's validator key while it is in the committee, else nil.
func (n *Node) relaySelf() []byte {
	if n.committee.Load().IndexOf(n.signer.PubKey()) < 0 {
		return nil
	}
	return n.signer.PubKey()
}

// relayPeers lists the connected peers, with the validator key of those known to be one of
// the committee.
func (n *Node) relayPeers() []relay.Peer {
	committee := n.committee.Load()
	infos := n.sw.Peers()
	out := make([]relay.Peer, len(infos))
	for i, p := range infos {
		out[i] = relay.Peer{ID: string(p.ID)}
		if key, ok := n.peers.validatorKey(p.ID); ok && committee.IndexOf(key) >= 0 {
			out[i].Validator = key
		}
	}
	return out
}

// takeRelayed hands the core what the mempool admitted or dropped of relayed transactions
// (on the loop, before any payload reaped after them).
func (n *Node) takeRelayed() {
	added, dropped := n.pool.TakeRelayed()
	if len(added) == 0 && len(dropped) == 0 {
		return
	}
	in := core.TxsRelayed{Dropped: dropped, Txs: make([]core.RelayedTx, len(added))}
	for i, a := range added {
		in.Txs[i] = core.RelayedTx{Seq: a.Seq, Tx: a.Tx, Owner: a.Owner}
	}
	n.step(in)
}
