package node

import (
	"sync"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/p2p"
)

// perPeerInputs bounds what one peer can have waiting for the loop. An honest peer sends a
// few blocks per round and one answer per request, far below it; a peer that keeps its
// queue full while the loop serves every peer in turn sends faster than its share.
const perPeerInputs = 1024

// inbox holds the loop's inputs: one queue per peer, served in turn one input at a time,
// so a peer that floods delays only itself, and a queue for the node's own inputs (timers),
// served first. While the loop takes no inputs (its executor is at the lag limit) a full
// peer queue holds back that peer's reader, as a full shared queue did before; while the
// loop takes inputs, a full queue means the peer floods: its input is dropped and the
// caller closes its link.
type inbox struct {
	mu     sync.Mutex
	room   *sync.Cond // signalled when a peer queue shrinks or the gate opens
	local  []core.Input
	queues map[p2p.ID][]core.Input
	turn   []p2p.ID // peers with queued inputs, in the order they are served
	gated  bool     // the loop takes no inputs for now
	closed bool
	ready  chan struct{} // signalled when an input is queued
}

func newInbox() *inbox {
	q := &inbox{queues: map[p2p.ID][]core.Input{}, ready: make(chan struct{}, 1)}
	q.room = sync.NewCond(&q.mu)
	return q
}

// pushLocal queues one of the node's own inputs.
func (q *inbox) pushLocal(in core.Input) {
	q.mu.Lock()
	q.local = append(q.local, in)
	q.mu.Unlock()
	signal(q.ready)
}

// pushPeer queues a peer's input; it reports false when the peer floods (its queue is full
// while the loop takes inputs), and the input is dropped.
func (q *inbox) pushPeer(peer p2p.ID, in core.Input) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queues[peer]) >= perPeerInputs && q.gated && !q.closed {
		q.room.Wait()
	}
	if q.closed {
		return true
	}
	if len(q.queues[peer]) >= perPeerInputs {
		return false
	}
	if len(q.queues[peer]) == 0 {
		q.turn = append(q.turn, peer)
	}
	q.queues[peer] = append(q.queues[peer], in)
	signal(q.ready)
	return true
}

// pop takes the next input: the node's own first, then one from the next peer in turn.
func (q *inbox) pop() (core.Input, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.local) > 0 {
		in := q.local[0]
		q.local = q.local[1:]
		return in, true
	}
	if len(q.turn) == 0 {
		return nil, false
	}
	peer := q.turn[0]
	queue := q.queues[peer]
	in := queue[0]
	q.turn = q.turn[1:]
	if len(queue) == 1 {
		delete(q.queues, peer)
	} else {
		q.queues[peer] = queue[1:]
		q.turn = append(q.turn, peer)
	}
	q.room.Broadcast()
	return in, true
}

// empty reports whether nothing waits.
func (q *inbox) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.local) == 0 && len(q.turn) == 0
}

// gate records whether the loop takes inputs.
func (q *inbox) gate(closed bool) {
	q.mu.Lock()
	if q.gated != closed {
		q.gated = closed
		q.room.Broadcast()
	}
	q.mu.Unlock()
}

// drop forgets a disconnected peer's queued inputs.
func (q *inbox) drop(peer p2p.ID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.queues[peer]; !ok {
		return
	}
	delete(q.queues, peer)
	for i, p := range q.turn {
		if p == peer {
			q.turn = append(q.turn[:i], q.turn[i+1:]...)
			break
		}
	}
	q.room.Broadcast()
}

// close releases every reader waiting for room: the loop has stopped.
func (q *inbox) close() {
	q.mu.Lock()
	q.closed = true
	q.room.Broadcast()
	q.mu.Unlock()
}
