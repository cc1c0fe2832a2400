package node

import (
	"sync"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/drive"
	"github.com/tutti-bft/tutti/p2p"
)

// perPeerInputs bounds what one peer can have waiting for the loop (drive.Queue).
const perPeerInputs = drive.PerPeerInputs

// inbox is the driver's input queue (drive.Queue: the node's own inputs first, then each
// peer's in turn) shared between the peers' reader goroutines and the loop. While the loop
// takes no inputs (its executor is at the lag limit) a full peer queue holds back that
// peer's reader, so nothing is lost; while the loop takes inputs, a full queue means the
// peer floods: its input is dropped and the caller closes its link.
type inbox struct {
	mu     sync.Mutex
	room   *sync.Cond // signalled when a peer queue shrinks or the gate opens
	queue  *drive.Queue
	gated  bool // the loop takes no inputs for now
	closed bool
	ready  chan struct{} // signalled when an input is queued
}

func newInbox() *inbox {
	q := &inbox{queue: drive.NewQueue(), ready: make(chan struct{}, 1)}
	q.room = sync.NewCond(&q.mu)
	return q
}

// pushLocal queues one of the node's own inputs.
func (q *inbox) pushLocal(in core.Input) {
	q.mu.Lock()
	q.queue.PushLocal(in)
	q.mu.Unlock()
	signal(q.ready)
}

// pushPeer queues a peer's input; it reports false when the peer floods (its queue is full
// while the loop takes inputs), and the input is dropped.
func (q *inbox) pushPeer(peer p2p.ID, in core.Input) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.queue.Full(string(peer)) && q.gated && !q.closed {
		q.room.Wait()
	}
	if q.closed {
		return true
	}
	if q.queue.Full(string(peer)) {
		return false
	}
	q.queue.PushPeer(string(peer), in)
	signal(q.ready)
	return true
}

// pop takes the next input.
func (q *inbox) pop() (core.Input, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	in, ok := q.queue.Pop()
	if ok {
		q.room.Broadcast()
	}
	return in, ok
}

// empty reports whether nothing waits.
func (q *inbox) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queue.Empty()
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
	q.queue.Drop(string(peer))
	q.room.Broadcast()
}

// close releases every reader waiting for room: the loop has stopped.
func (q *inbox) close() {
	q.mu.Lock()
	q.closed = true
	q.room.Broadcast()
	q.mu.Unlock()
}
