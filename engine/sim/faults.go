package sim

import (
	"fmt"
	"time"
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
