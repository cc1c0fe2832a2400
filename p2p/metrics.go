package p2p

import (
	"sort"
	"sync/atomic"
	"time"

	cmtp2p "github.com/cometbft/cometbft/p2p"
)

// channelStats counts one channel of one peer and forwards every update to
// the switch-wide totals, which outlive peers.
type channelStats struct {
	total                                    *channelStats
	msgsSent, bytesSent, msgsRecv, bytesRecv atomic.Uint64
	drops                                    atomic.Uint64
	queueMsgs, queueBytes                    atomic.Int64
}

func (s *channelStats) sent(n int) {
	for ; s != nil; s = s.total {
		s.msgsSent.Add(1)
		s.bytesSent.Add(uint64(n))
	}
}

func (s *channelStats) received(n int) {
	for ; s != nil; s = s.total {
		s.msgsRecv.Add(1)
		s.bytesRecv.Add(uint64(n))
	}
}

func (s *channelStats) drop() {
	for ; s != nil; s = s.total {
		s.drops.Add(1)
	}
}

func (s *channelStats) queued(msgs, bytes int) {
	for ; s != nil; s = s.total {
		s.queueMsgs.Add(int64(msgs))
		s.queueBytes.Add(int64(bytes))
	}
}

func (s *channelStats) snapshot() ChannelMetrics {
	return ChannelMetrics{
		MsgsSent: s.msgsSent.Load(), BytesSent: s.bytesSent.Load(),
		MsgsRecv: s.msgsRecv.Load(), BytesRecv: s.bytesRecv.Load(),
		Drops:     s.drops.Load(),
		QueueMsgs: s.queueMsgs.Load(), QueueBytes: s.queueBytes.Load(),
	}
}

func newStatsSet(channels []ChannelDesc, totals map[ChannelID]*channelStats) map[ChannelID]*channelStats {
	set := make(map[ChannelID]*channelStats, len(channels))
	for _, ch := range channels {
		set[ch.ID] = &channelStats{total: totals[ch.ID]}
	}
	return set
}

// ChannelMetrics counts message payload bytes (not framing or encryption
// overhead). Drops are messages refused by TrySend or Broadcast because the
// queue was full. Queue figures are gauges: what waits now.
type ChannelMetrics struct {
	MsgsSent, BytesSent, MsgsRecv, BytesRecv, Drops uint64
	QueueMsgs, QueueBytes                           int64
}

// PeerMetrics is one connected peer's counters since it connected.
type PeerMetrics struct {
	ID       ID
	Channels map[ChannelID]ChannelMetrics
}

// Metrics is a point-in-time copy of the switch's counters. Totals include
// peers that have since disconnected.
type Metrics struct {
	Peers  []PeerMetrics // sorted by ID
	Totals map[ChannelID]ChannelMetrics
}

// Metrics returns a snapshot of every counter.
func (s *Switch) Metrics() Metrics {
	m := Metrics{Totals: map[ChannelID]ChannelMetrics{}}
	for id, st := range s.totals {
		m.Totals[id] = st.snapshot()
	}
	s.mu.Lock()
	for id, p := range s.peers {
		pm := PeerMetrics{ID: id, Channels: map[ChannelID]ChannelMetrics{}}
		for ch, st := range p.stats {
			pm.Channels[ch] = st.snapshot()
		}
		m.Peers = append(m.Peers, pm)
	}
	s.mu.Unlock()
	sort.Slice(m.Peers, func(i, j int) bool { return m.Peers[i].ID < m.Peers[j].ID })
	return m
}

// ConnectionStatus is CometBFT's status of the current link to a peer, as
// net_info shows it: how long the link has been up, cometbft's flow monitors
// of the bytes it wrote and read (frames before encryption, keepalives
// included), and per channel, in configuration order, the queue bound and
// what is queued now (in bytes: see sendQueues.status), the priority and
// the recently sent bytes. ok is false when the peer is not connected.
func (s *Switch) ConnectionStatus(id ID) (status cmtp2p.ConnectionStatus, ok bool) {
	s.mu.Lock()
	p := s.peers[id]
	var l *link
	if p != nil {
		l = p.link
	}
	s.mu.Unlock()
	if p == nil {
		return status, false
	}
	return cmtp2p.ConnectionStatus{
		Duration:    time.Since(l.created),
		SendMonitor: l.sendMon.Status(),
		RecvMonitor: l.recvMon.Status(),
		Channels:    p.q.status(s.cfg.Channels),
	}, true
}
