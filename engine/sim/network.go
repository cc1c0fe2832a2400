package sim

import (
	"math/rand/v2"
	"time"
)

// linkConfig is the network's behaviour between two instances.
type linkConfig struct {
	MinLatency  time.Duration
	MeanLatency time.Duration // mean of the exponential part added to MinLatency
	Loss        float64       // probability a message is dropped
	Duplicate   float64       // probability a message is delivered twice
}

// network carries encoded messages between instances (a twin is two instances of one
// validator). Partitions and clogs are set by the fault plan; everything else is drawn
// from the network's own random stream.
type network struct {
	sched *scheduler
	rng   *rand.Rand
	cfg   linkConfig
	// scale stretches each directed link's latency, so some links are slower than others.
	scale [][]float64
	// blocked, when set, drops what from sends to to (a partition, possibly one-way).
	blocked func(from, to int) bool
	// clog holds each directed link's messages until the given instant (a burst of delay).
	clog    [][]time.Duration
	deliver func(from, to int, payload []byte)
	stats   *Stats
}

func newNetwork(sched *scheduler, rng *rand.Rand, cfg linkConfig, instances int, stats *Stats) *network {
	n := &network{sched: sched, rng: rng, cfg: cfg, stats: stats}
	n.resize(instances)
	return n
}

// resize makes room for new instances (twins join after the start).
func (n *network) resize(instances int) {
	for len(n.scale) < instances {
		n.scale = append(n.scale, nil)
		n.clog = append(n.clog, nil)
	}
	for i := range n.scale {
		for len(n.scale[i]) < instances {
			n.scale[i] = append(n.scale[i], 0.5+n.rng.Float64())
			n.clog[i] = append(n.clog[i], 0)
		}
	}
}

// send schedules delivery of payload from one instance to another. The payload is already
// encoded: the receiver decodes it with the same size-limited decoder a node uses.
func (n *network) send(from, to int, payload []byte) {
	n.stats.MessagesSent++
	if n.blocked != nil && n.blocked(from, to) {
		n.stats.MessagesPartitioned++
		return
	}
	if chance(n.rng, n.cfg.Loss) {
		n.stats.MessagesDropped++
		return
	}
	copies := 1
	if chance(n.rng, n.cfg.Duplicate) {
		copies = 2
		n.stats.MessagesDuplicated++
	}
	for c := 0; c < copies; c++ {
		ms := float64(n.cfg.MinLatency.Milliseconds()) + expMillis(n.rng, float64(n.cfg.MeanLatency.Microseconds())/1000)
		delay := time.Duration(ms * n.scale[from][to] * float64(time.Millisecond))
		if until := n.clog[from][to]; until > n.sched.now+delay {
			delay = until - n.sched.now
		}
		n.sched.after(delay, "", func() { n.deliver(from, to, payload) })
	}
}
