package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/tutti-bft/tutti/engine/sim/check"
	"github.com/tutti-bft/tutti/engine/types"
)

// scheduleWorkload has clients send unique transactions to random honest validators at a
// rate drawn from the seed, between from and until.
func (s *Sim) scheduleWorkload(from, until time.Duration) {
	r := s.rng("workload")
	rate := 20 + r.Float64()*180 // tx per second
	honestIDs := s.instancesOfHonest()
	var next func(i int)
	next = func(i int) {
		if s.sched.now >= until {
			return
		}
		if s.opt.Ledger {
			s.submitLedgerTx()
			s.sched.after(time.Duration(expMillis(r, 1000/rate)*float64(time.Millisecond)), "submit", func() { next(i + 1) })
			return
		}
		tx := fmt.Sprintf("tx%d-%d=v", s.opt.Seed, i)
		s.submitted[tx] = true
		s.stats.TxsSubmitted++
		n := s.instances[honestIDs[r.IntN(len(honestIDs))]]
		if n.submit([]byte(tx)) {
			s.acked[tx] = n.id
		}
		s.sched.after(time.Duration(expMillis(r, 1000/rate)*float64(time.Millisecond)), "submit", func() { next(i + 1) })
	}
	s.sched.after(from, "workload", func() { next(0) })
}

// hopLog records what O1 needs of the hopping client's transactions: each pair sent to an
// instance that already held the earlier one (relayed), the round the earlier one's owner
// first proposed it in, and the round each instance had reached when it arrived there.
type hopLog struct {
	pairs       []hopPair
	ownerRound  map[string]uint64         // tx -> round of its owner's first block carrying it
	ownerEpoch  map[string]uint64         // tx -> that block's epoch
	commitEpoch map[string]uint64         // tx -> epoch of the ABCI block that committed it
	takenOver   map[string]bool           // tx -> another validator carried it (its owner looked gone)
	arrival     map[string]map[int]uint64 // tx -> instance -> its own round when the relay arrived
}

type hopPair struct {
	check.OrderedPair
	to int // the instance the later one went to
}

// orderedPairs are the pairs O1 judges: those whose earlier transaction its owner proposed
// within releaseRounds of the round the later node had reached when it arrived there, in
// an epoch that ordered it, and that no other validator took over. That is what the order
// rule promises (engine/core/relay.go, PROTOCOL.md §2.1): an owner that crashed or was cut
// off before its block got out, or held it back longer, is not waited for (whoever takes
// over its transaction may not hold the ones before it), and what an epoch change leaves
// unordered is proposed again in the next epoch without its old order. The rest are
// counted as excused.
func (h *hopLog) orderedPairs() (judged []check.OrderedPair, excused int) {
	for _, p := range h.pairs {
		owned, ok := h.ownerRound[p.Earlier]
		arrived, seen := h.arrival[p.Earlier][p.to]
		sameEpoch := h.ownerEpoch[p.Earlier] == h.commitEpoch[p.Earlier]
		taken := h.takenOver[p.Earlier] || h.takenOver[p.Later]
		if ok && seen && sameEpoch && !taken && owned <= arrived+releaseRounds {
			judged = append(judged, p.OrderedPair)
		} else {
			excused++
		}
	}
	return judged, excused
}

// releaseRounds is the core's: a relayed transaction stops holding back a later one once
// the later node's history holds its owner's blocks that many rounds past its arrival.
const releaseRounds = 2

func (h *hopLog) ownBlock(n *instance, b *types.Block) {
	for _, tx := range b.Txs {
		if !strings.HasPrefix(string(tx), "hop") {
			continue
		}
		owner, acked := n.s.acked[string(tx)]
		switch {
		case acked && owner != n.id:
			h.takenOver[string(tx)] = true
		case acked:
			if _, done := h.ownerRound[string(tx)]; !done {
				h.ownerRound[string(tx)], h.ownerEpoch[string(tx)] = b.Round, b.Epoch
			}
		}
	}
}

func (h *hopLog) relayArrived(n *instance, tx []byte) {
	if !strings.HasPrefix(string(tx), "hop") {
		return
	}
	at := h.arrival[string(tx)]
	if at == nil {
		at = map[int]uint64{}
		h.arrival[string(tx)] = at
	}
	if _, ok := at[n.id]; !ok {
		at[n.id] = n.core.Stats().Round
	}
}

// scheduleHoppingClient runs a client that sends each transaction to the next honest
// instance in turn, once the previous one was acknowledged: the sequence a Cosmos account
// sends round robin over RPC endpoints. When the instance it sends to already holds the
// previous transaction (relayed to it), the pair must be committed in order (O1).
func (s *Sim) scheduleHoppingClient(from, until time.Duration) {
	s.hops.ownerRound, s.hops.arrival = map[string]uint64{}, map[string]map[int]uint64{}
	s.hops.ownerEpoch, s.hops.commitEpoch, s.hops.takenOver = map[string]uint64{}, map[string]uint64{}, map[string]bool{}
	r := s.rng("hopper")
	gap := time.Duration(20+r.IntN(280)) * time.Millisecond
	honestIDs := s.instancesOfHonest()
	var prev string
	var next func(i int)
	next = func(i int) {
		if s.sched.now >= until {
			return
		}
		tx := fmt.Sprintf("hop%d-%d=v", s.opt.Seed, i)
		s.submitted[tx] = true
		s.stats.TxsSubmitted++
		n := s.instances[honestIDs[i%len(honestIDs)]]
		held := prev != "" && n.up && n.pool.Has([]byte(prev))
		if n.submit([]byte(tx)) {
			s.acked[tx] = n.id
			if held {
				s.hops.pairs = append(s.hops.pairs, hopPair{OrderedPair: check.OrderedPair{Earlier: prev, Later: tx}, to: n.id})
			}
			prev = tx
		} else {
			prev = ""
		}
		s.sched.after(gap, "hop", func() { next(i + 1) })
	}
	s.sched.after(from, "hopper", func() { next(0) })
}

// scheduleFaults draws the chaos phase: crashes with restarts, partitions, clogged links,
// amnesia and twin splits, all before healAt.
func (s *Sim) scheduleFaults(healAt time.Duration) {
	r := s.rng("faults")
	at := func() time.Duration { return time.Second + time.Duration(r.Int64N(int64(healAt-2*time.Second))) }

	for i, crashes := 0, r.IntN(2*len(s.powers)+1); i < crashes; i++ {
		id, down := r.IntN(len(s.instances)), time.Duration(200+r.IntN(4800))*time.Millisecond
		s.sched.after(at(), fmt.Sprintf("fault crash %d", id), func() {
			n := s.instances[id]
			if !n.up {
				return
			}
			s.stats.fault("crash")
			n.crash()
			inc := n.incarnation
			s.sched.after(down, fmt.Sprintf("fault restart %d", id), func() { s.restart(n, inc) })
		})
	}
	for i, parts := 0, r.IntN(5); i < parts; i++ {
		kind, length := r.IntN(4), time.Duration(500+r.IntN(4500))*time.Millisecond
		s.sched.after(at(), "fault partition", func() { s.partitionNetwork(kind, length) })
	}
	for i, clogs := 0, r.IntN(11); i < clogs; i++ {
		from, to := r.IntN(len(s.instances)), r.IntN(len(s.instances))
		length := time.Duration(100+r.IntN(1900)) * time.Millisecond
		s.sched.after(at(), "fault clog", func() {
			s.stats.fault("clog")
			s.net.clog[from][to] = s.sched.now + length
		})
	}
	for _, n := range s.instances {
		n := n
		switch n.byz {
		case amnesia:
			for i, times := 0, 1+r.IntN(3); i < times; i++ {
				s.sched.after(at(), fmt.Sprintf("fault amnesia %d", n.id), func() {
					if !n.up {
						return
					}
					s.stats.fault("amnesia")
					n.crash()
					n.disk.wipe()
					inc := n.incarnation
					s.sched.after(500*time.Millisecond, fmt.Sprintf("fault restart %d", n.id), func() { s.restart(n, inc) })
				})
			}
		case twin:
			s.splitTwins()
		}
	}
}

// scheduleSlowApps makes an instance's app slow for 5-15 s: each height takes 0.2-2 s, so
// execution falls behind ordering, and when it falls behind by the lag limit the driver
// takes no inputs (and cuts nothing more) until it catches up, as a node with a slow app
// does. With Options.SlowApp one instance's app is slow from the first second to the heal,
// at 1-4 s a height, calm runs included, so it reaches the limit wherever the chain cuts
// heights faster than that. It draws from its own stream,
// so the other faults a seed injects stay as they were.
func (s *Sim) scheduleSlowApps(healAt time.Duration) {
	r := s.rng("slow-app")
	slow := func(n *instance, start, length, delay time.Duration) {
		s.sched.after(start, fmt.Sprintf("fault slow-app %d", n.id), func() {
			s.stats.fault("slow-app")
			n.appDelay = delay
			s.sched.after(length, fmt.Sprintf("slow-app ends %d", n.id), func() {
				n.appDelay = 0
				if n.up {
					n.pump()
				}
			})
		})
	}
	if s.opt.SlowApp {
		n := s.instances[r.IntN(len(s.instances))]
		slow(n, time.Second, healAt-2*time.Second, time.Duration(1000+r.IntN(3000))*time.Millisecond)
	}
	if s.opt.Calm {
		return
	}
	for i, times := 0, r.IntN(3); i < times; i++ {
		n := s.instances[r.IntN(len(s.instances))]
		delay := time.Duration(200+r.IntN(1800)) * time.Millisecond
		length := time.Duration(5000+r.IntN(10000)) * time.Millisecond
		start := time.Second + time.Duration(r.Int64N(int64(max(healAt-length-2*time.Second, time.Second))))
		slow(n, start, length, delay)
	}
}

// restart brings a crashed instance back, unless something else already did.
func (s *Sim) restart(n *instance, incarnation int) {
	if n.up || n.incarnation != incarnation {
		return
	}
	if err := n.start(); err != nil {
		s.violate("restart", fmt.Sprintf("instance %d: %v", n.id, err))
	}
}

// partitionNetwork cuts the network in one of four ways for a while.
func (s *Sim) partitionNetwork(kind int, length time.Duration) {
	r := s.rng("partitions")
	side := make([]int, len(s.instances))
	for i := range side {
		side[i] = r.IntN(2)
	}
	pick := r.IntN(len(s.instances))
	var cut func(from, to int) bool
	switch kind {
	case 0:
		s.stats.fault("partition-halves")
		cut = func(from, to int) bool { return side[from] != side[to] }
	case 1:
		s.stats.fault("partition-isolate")
		cut = func(from, to int) bool { return (from == pick) != (to == pick) }
	case 2:
		s.stats.fault("partition-one-way")
		cut = func(from, to int) bool { return side[from] == 0 && side[to] == 1 }
	default:
		s.stats.fault("partition-bridge")
		cut = func(from, to int) bool { return from != pick && to != pick && side[from] != side[to] }
	}
	s.partition = cut
	s.sched.after(length, "heal partition", func() {
		if s.partition != nil && fmt.Sprintf("%p", s.partition) == fmt.Sprintf("%p", cut) {
			s.partition = nil
		}
	})
}

// splitTwins gives each instance of a twin its own side of the honest network, redrawn
// every few seconds, so each twin gathers support from different honest validators.
func (s *Sim) splitTwins() {
	if s.twinSide != nil {
		return
	}
	r := s.rng("twins")
	s.twinSide = make([]int, len(s.instances))
	var redraw func()
	redraw = func() {
		for i := range s.twinSide {
			s.twinSide[i] = r.IntN(2)
		}
		s.stats.fault("twin-split")
		s.sched.after(time.Duration(1000+r.IntN(4000))*time.Millisecond, "twin split", redraw)
	}
	redraw()
}

// blocked says whether the network drops a message: a partition, or a twin talking to an
// instance on the other twin's side.
func (s *Sim) blocked(from, to int) bool {
	if s.partition != nil && s.partition(from, to) {
		return true
	}
	if s.twinSide != nil {
		a, b := s.instances[from], s.instances[to]
		twinPair := func(n *instance) int { // 0 or 1 for the two instances of a twin, -1 otherwise
			if n.byz != twin {
				return -1
			}
			ids := s.instancesOf(n.author)
			if ids[0] == n.id {
				return 0
			}
			return 1
		}
		if t := twinPair(a); t >= 0 && twinPair(b) < 0 && s.twinSide[to] != t {
			return true
		}
		if t := twinPair(b); t >= 0 && twinPair(a) < 0 && s.twinSide[from] != t {
			return true
		}
	}
	return false
}

// heal ends the chaos phase: partitions and clogs end, loss drops to at most 5 %, and
// every crashed instance restarts. Byzantine validators keep misbehaving.
func (s *Sim) heal() {
	s.sched.note("heal")
	s.partition = nil
	for i := range s.net.clog {
		for j := range s.net.clog[i] {
			s.net.clog[i][j] = 0
		}
	}
	if s.net.cfg.Loss > 0.05 {
		s.net.cfg.Loss = 0.05
	}
	for _, n := range s.instances {
		if !n.up {
			s.restart(n, n.incarnation)
		}
	}
}
