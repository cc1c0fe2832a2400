package p2p

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/cometbft/cometbft/p2p/conn"
)

var (
	// ErrPeerGone is returned by Send when the peer disconnects while the
	// message waits for room.
	ErrPeerGone = errors.New("peer disconnected")
	errStale    = errors.New("link replaced")
)

// sendQueues holds one peer's outgoing messages, one bounded FIFO per channel.
// They belong to the peer, not to a link, so a duplicate connection replacing
// another keeps what was queued.
type sendQueues struct {
	mu     sync.Mutex
	chans  []*chanQueue // highest priority first
	byID   [256]*chanQueue
	gen    uint64 // which link's writer may take from the queues
	closed bool
	// ready wakes the writer; space wakes blocked senders and is replaced
	// after each close so that every waiter sees it.
	ready chan struct{}
	space chan struct{}
}

type chanQueue struct {
	desc  ChannelDesc
	stats *channelStats
	msgs  [][]byte
	// written holds, beside msgs, a channel to close once the message is on the socket
	// (nil for most messages: only tryPushWritten asks).
	written []chan struct{}
	head    int
	// bytes counts queued messages plus the one being framed, so the bound
	// covers everything this queue keeps alive.
	bytes      int
	cur        []byte
	curWritten chan struct{}
	off        int
	// recent is the payload bytes framed lately: every frame adds its bytes,
	// and decayRecent takes a fifth off every recentDecayInterval, as
	// CometBFT's MConnection keeps its channels' recently sent counts.
	recent int64
}

// CometBFT's decay of a channel's recently sent bytes (MConnection's
// updateStats), so that net_info's recently_sent means the same.
const (
	recentDecayInterval = 2 * time.Second
	recentDecayFactor   = 0.8
)

func newSendQueues(channels []ChannelDesc, stats map[ChannelID]*channelStats) *sendQueues {
	q := &sendQueues{ready: make(chan struct{}, 1), space: make(chan struct{})}
	for _, desc := range channels {
		cq := &chanQueue{desc: desc, stats: stats[desc.ID]}
		q.chans = append(q.chans, cq)
		q.byID[desc.ID] = cq
	}
	slices.SortStableFunc(q.chans, func(a, b *chanQueue) int { return b.desc.Priority - a.desc.Priority })
	return q
}

// tryPush queues msg unless the channel is full. It reports whether msg was
// queued; a full queue counts as a drop.
func (q *sendQueues) tryPush(ch ChannelID, msg []byte) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	cq, err := q.channel(ch, msg)
	if err != nil {
		return false, err
	}
	if q.closed {
		return false, ErrPeerGone
	}
	if cq.bytes+len(msg) > cq.desc.SendQueueBytes {
		cq.stats.drop()
		return false, nil
	}
	q.pushLocked(cq, msg)
	return true, nil
}

// tryPushWritten is tryPush, with a channel closed once the whole message has been
// written to the connection (never, if the peer goes first).
func (q *sendQueues) tryPushWritten(ch ChannelID, msg []byte) (<-chan struct{}, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	cq, err := q.channel(ch, msg)
	if err != nil {
		return nil, false, err
	}
	if q.closed {
		return nil, false, ErrPeerGone
	}
	if cq.bytes+len(msg) > cq.desc.SendQueueBytes {
		cq.stats.drop()
		return nil, false, nil
	}
	written := make(chan struct{})
	q.pushLocked(cq, msg)
	cq.written[len(cq.written)-1] = written
	return written, true, nil
}

// push queues msg, waiting for room until ctx ends or the peer goes away.
func (q *sendQueues) push(ctx context.Context, ch ChannelID, msg []byte) error {
	for {
		q.mu.Lock()
		cq, err := q.channel(ch, msg)
		if err != nil {
			q.mu.Unlock()
			return err
		}
		if q.closed {
			q.mu.Unlock()
			return ErrPeerGone
		}
		if cq.bytes+len(msg) <= cq.desc.SendQueueBytes {
			q.pushLocked(cq, msg)
			q.mu.Unlock()
			return nil
		}
		space := q.space
		q.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (q *sendQueues) channel(ch ChannelID, msg []byte) (*chanQueue, error) {
	cq := q.byID[ch]
	if cq == nil {
		return nil, ErrUnknownChannel
	}
	if len(msg) > cq.desc.MaxMsgBytes {
		return nil, ErrMessageTooLarge
	}
	return cq, nil
}

func (q *sendQueues) pushLocked(cq *chanQueue, msg []byte) {
	cq.msgs = append(cq.msgs, msg)
	cq.written = append(cq.written, nil)
	cq.bytes += len(msg)
	cq.stats.queued(1, len(msg))
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// attach hands the queues to a new link's writer. A message half framed on
// the previous link starts over on the new one, whose reader never saw its
// beginning.
func (q *sendQueues) attach() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.gen++
	for _, cq := range q.chans {
		cq.off = 0
	}
	return q.gen
}

// take returns the next frame to write: a piece of the highest priority
// channel that has anything. ok is false when all queues are empty.
// outFrame is one frame's worth of a queued message.
type outFrame struct {
	ch    ChannelID
	chunk []byte
	last  bool
	// total is the message length on the first of several frames, else 0.
	total int
	// written, on a message's last frame, is closed by the writer once the frame is on
	// the connection (tryPushWritten).
	written chan struct{}
}

func (q *sendQueues) take(gen uint64) (f outFrame, ok bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || gen != q.gen {
		return outFrame{}, false, errStale
	}
	for _, cq := range q.chans {
		if cq.cur == nil {
			if cq.head == len(cq.msgs) {
				continue
			}
			cq.cur, cq.curWritten = cq.msgs[cq.head], cq.written[cq.head]
			cq.msgs[cq.head], cq.written[cq.head] = nil, nil
			cq.head++
			if cq.head == len(cq.msgs) {
				cq.msgs, cq.written, cq.head = cq.msgs[:0], cq.written[:0], 0
			}
			cq.off = 0
		}
		end := min(cq.off+MaxFramePayload, len(cq.cur))
		f = outFrame{ch: cq.desc.ID, chunk: cq.cur[cq.off:end], last: end == len(cq.cur)}
		if cq.off == 0 && !f.last {
			f.total = len(cq.cur)
		}
		cq.off = end
		cq.recent += int64(len(f.chunk))
		if f.last {
			f.written = cq.curWritten
			cq.stats.sent(len(cq.cur))
			q.releaseLocked(cq)
		}
		return f, true, nil
	}
	return outFrame{}, false, nil
}

func (q *sendQueues) releaseLocked(cq *chanQueue) {
	cq.bytes -= len(cq.cur)
	cq.stats.queued(-1, -len(cq.cur))
	cq.cur, cq.curWritten, cq.off = nil, nil, 0
	close(q.space)
	q.space = make(chan struct{})
}

// close discards everything queued and fails blocked senders.
func (q *sendQueues) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	for _, cq := range q.chans {
		if cq.cur != nil {
			q.releaseLocked(cq)
		}
		for _, m := range cq.msgs[cq.head:] {
			cq.bytes -= len(m)
			cq.stats.queued(-1, -len(m))
		}
		cq.msgs, cq.written, cq.head = nil, nil, 0
	}
	close(q.space)
	q.space = make(chan struct{})
}

// decayRecent ages every channel's recently sent count by one interval.
func (q *sendQueues) decayRecent() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, cq := range q.chans {
		cq.recent = int64(float64(cq.recent) * recentDecayFactor)
	}
}

// status is CometBFT's channel status of each channel, in the order given.
// Tutti bounds a queue by bytes, not messages, so capacity and size are in
// bytes: the bound and what is queued now (the message being framed included).
func (q *sendQueues) status(channels []ChannelDesc) []conn.ChannelStatus {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]conn.ChannelStatus, 0, len(channels))
	for _, desc := range channels {
		cq := q.byID[desc.ID]
		if cq == nil {
			continue
		}
		out = append(out, conn.ChannelStatus{ID: byte(desc.ID), SendQueueCapacity: desc.SendQueueBytes,
			SendQueueSize: cq.bytes, Priority: desc.Priority, RecentlySent: cq.recent})
	}
	return out
}
