package drive

import "github.com/tutti-bft/tutti/engine/core"

// PerPeerInputs bounds what one peer may have waiting while the core takes inputs. An honest
// peer sends a few blocks per round and one answer per request, far below it; a peer that
// keeps its queue full while every peer is served in turn sends faster than its share.
const PerPeerInputs = 1024

// Queue holds a core's inputs: the host's own (timers, payload, relays), served first, and
// one queue per peer, served in turn one input at a time, so a peer that floods delays
// only itself. It is not safe for concurrent use; the node wraps it in a lock.
type Queue struct {
	local  []core.Input
	queues map[string][]core.Input
	turn   []string // peers with queued inputs, in the order they are served
}

// NewQueue returns an empty queue.
func NewQueue() *Queue { return &Queue{queues: map[string][]core.Input{}} }

// PushLocal queues one of the host's own inputs.
func (q *Queue) PushLocal(in core.Input) { q.local = append(q.local, in) }

// Full reports whether peer has PerPeerInputs inputs waiting. What a host does then is its
// choice: hold the peer back while the core takes no inputs, drop its input otherwise.
func (q *Queue) Full(peer string) bool { return len(q.queues[peer]) >= PerPeerInputs }

// PushPeer queues a peer's input, whatever its queue holds.
func (q *Queue) PushPeer(peer string, in core.Input) {
	if len(q.queues[peer]) == 0 {
		q.turn = append(q.turn, peer)
	}
	q.queues[peer] = append(q.queues[peer], in)
}

// Pop takes the next input: the host's own first, then one from the next peer in turn.
func (q *Queue) Pop() (core.Input, bool) {
	if len(q.local) > 0 {
		in := q.local[0]
		q.local[0] = nil
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
		queue[0] = nil
		q.queues[peer] = queue[1:]
		q.turn = append(q.turn, peer)
	}
	return in, true
}

// Empty reports whether nothing waits.
func (q *Queue) Empty() bool { return len(q.local) == 0 && len(q.turn) == 0 }

// Drop forgets a peer's queued inputs (it disconnected).
func (q *Queue) Drop(peer string) {
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
}

// Clear forgets every queued input.
func (q *Queue) Clear() {
	q.local, q.turn = nil, nil
	q.queues = map[string][]core.Input{}
}
