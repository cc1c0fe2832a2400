package node

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tutti-bft/tutti/p2p"
)

// p2pCollector reads the switch's own counters when scraped: the switch already counts
// every message's bytes per channel and peer, so nothing is counted twice on the send path.
type p2pCollector struct {
	sw                        *p2p.Switch
	names                     map[p2p.ChannelID]string
	peers, sent, recv         *prometheus.Desc
	peerSent, peerRecv, peerQ *prometheus.Desc
}

func newP2PCollector(namespace string, sw *p2p.Switch) *p2pCollector {
	names := map[p2p.ChannelID]string{}
	for _, ch := range p2p.DefaultChannels() {
		names[ch.ID] = ch.Name
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "p2p", name), help, labels, nil)
	}
	return &p2pCollector{sw: sw, names: names,
		peers: desc("peers", "Connected peers."),
		sent:  desc("message_send_bytes_total", "Message payload bytes sent, by channel, since the node started.", "channel"),
		recv:  desc("message_receive_bytes_total", "Message payload bytes received, by channel, since the node started.", "channel"),
		// Labels as CometBFT's: the peer's node ID and the channel byte in hex ("0x20").
		peerSent: desc("peer_send_bytes_total", "Message payload bytes sent to a connected peer.", "peer_id", "chID"),
		peerRecv: desc("peer_receive_bytes_total", "Message payload bytes received from a connected peer.", "peer_id", "chID"),
		peerQ:    desc("peer_send_queue_size", "Bytes waiting in a connected peer's send queues.", "peer_id"),
	}
}

func (c *p2pCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.peers, c.sent, c.recv, c.peerSent, c.peerRecv, c.peerQ} {
		ch <- d
	}
}

func (c *p2pCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.sw.Metrics()
	ch <- prometheus.MustNewConstMetric(c.peers, prometheus.GaugeValue, float64(len(m.Peers)))
	for id, t := range m.Totals {
		ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(t.BytesSent), c.name(id))
		ch <- prometheus.MustNewConstMetric(c.recv, prometheus.CounterValue, float64(t.BytesRecv), c.name(id))
	}
	for _, p := range m.Peers {
		var queued int64
		for id, t := range p.Channels {
			chID := fmt.Sprintf("%#x", byte(id))
			ch <- prometheus.MustNewConstMetric(c.peerSent, prometheus.CounterValue, float64(t.BytesSent), string(p.ID), chID)
			ch <- prometheus.MustNewConstMetric(c.peerRecv, prometheus.CounterValue, float64(t.BytesRecv), string(p.ID), chID)
			queued += t.QueueBytes
		}
		ch <- prometheus.MustNewConstMetric(c.peerQ, prometheus.GaugeValue, float64(queued), string(p.ID))
	}
}

// name is the channel's name from p2p.DefaultChannels, or its hex byte for any other.
func (c *p2pCollector) name(id p2p.ChannelID) string {
	if n, ok := c.names[id]; ok {
		return n
	}
	return fmt.Sprintf("%#x", byte(id))
}
