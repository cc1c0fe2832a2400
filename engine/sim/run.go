package sim

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/engine/sim/check"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// Run executes one seed and checks it.
func Run(opt Options) Result {
	if opt.Duration <= 0 {
		opt.Duration = 60 * time.Second
	}
	s := &Sim{opt: opt, sched: newScheduler(genesisTime), limits: wire.DefaultLimits(),
		byzantine: map[int]behaviour{}, logs: map[int]*check.NodeLog{}, acked: map[string]int{},
		excused: map[string]bool{}, submitted: map[string]bool{}, seenBlocks: map[types.Slot]types.Digest{},
		rngs: map[string]*rand.Rand{}, mutations: opt.Mutations, verifier: newSharedVerifier()}
	if opt.Trace != nil {
		s.sched.log = func(line string) { _, _ = opt.Trace.Write([]byte(line)) }
	}
	s.drawCommittee()
	s.gcDepth = opt.GCDepth
	if s.gcDepth == 0 {
		s.gcDepth = gcDepths[s.rng("gc-depth").IntN(len(gcDepths))]
	}
	s.drawByzantine()
	s.createInstances()
	if opt.Ledger {
		s.setupLedger()
	}
	healAt := opt.Duration * 6 / 10
	s.scheduleWorkload(500*time.Millisecond, opt.Duration*8/10)
	if !opt.Ledger {
		s.scheduleHoppingClient(500*time.Millisecond, opt.Duration*8/10)
	}
	if !opt.Calm || opt.SlowApp {
		s.scheduleSlowApps(healAt)
	}
	if !opt.Calm {
		s.scheduleFaults(healAt)
	}
	for _, n := range s.instances {
		if err := n.start(); err != nil {
			s.violate("start", fmt.Sprintf("instance %d: %v", n.id, err))
		}
	}
	s.sched.runUntil(healAt)
	if opt.Ledger {
		s.checkSupply(healAt)
	}
	s.heal()
	heightAtHeal := map[string]int64{}
	for _, l := range s.honestLogs() {
		heightAtHeal[l.Node] = l.Height()
	}
	s.sched.runUntil(opt.Duration)
	heightAtEnd := map[string]int64{} // liveness is judged here, not after the drain
	for _, l := range s.honestLogs() {
		heightAtEnd[l.Node] = l.Height()
	}
	s.drain(opt.Duration)
	if opt.QueryKVStore {
		s.queryCommitted()
	}
	if opt.Ledger {
		s.checkSupply(opt.Duration)
	}
	return s.finish(heightAtHeal, heightAtEnd)
}

func (s *Sim) drawCommittee() {
	r := s.rng("committee")
	n := s.opt.Validators
	if len(s.opt.Powers) > 0 {
		n = len(s.opt.Powers)
	}
	if n == 0 {
		n = []int{4, 7, 10}[r.IntN(3)]
	}
	s.powers = make([]int64, n)
	unequal := chance(r, 0.3)
	for i := range s.powers {
		s.powers[i] = 10
		if unequal {
			s.powers[i] = 1 + r.Int64N(100)
		}
		if len(s.opt.Powers) > 0 {
			s.powers[i] = s.opt.Powers[i]
		}
	}
	vals := make([]types.Validator, n)
	s.keys = make([]*signer, n)
	for i := range vals {
		seed := binary.BigEndian.AppendUint64([]byte("sim-validator-"), uint64(i))
		s.keys[i] = newSigner(seed)
		vals[i] = types.Validator{PubKey: s.keys[i].PubKey(), Power: s.powers[i]}
	}
	c, err := types.NewCommittee(vals)
	if err != nil {
		panic(err) // powers are positive and small: cannot fail
	}
	s.committee = c
}

// drawByzantine picks byzantine validators: at most f by stake unless the options ask
// for more (a negative control).
func (s *Sim) drawByzantine() {
	r := s.rng("byzantine")
	want := s.opt.Byzantine
	// f, the most byzantine stake tolerated: what leaves the honest a quorum. (One less than
	// the validity threshold is one too many when the total is a multiple of 3: 53 of 159
	// left the honest 106, one short of the quorum of 107, and seed 1886 of the long run
	// stalled with its 53-stake byzantine validator's clock a year ahead.)
	limitStake := s.committee.TotalPower() - s.committee.QuorumThreshold()
	if want < 0 {
		want = r.IntN(1 + len(s.powers)/3)
	} else {
		limitStake = s.committee.TotalPower()
	}
	kinds := allBehaviours
	if len(s.opt.Behaviours) > 0 {
		kinds = nil
		for _, b := range s.opt.Behaviours {
			kinds = append(kinds, behaviour(b))
		}
	}
	order := r.Perm(len(s.powers))
	var stake int64
	for _, v := range order {
		if len(s.byzantine) >= want {
			break
		}
		if stake+s.powers[v] > limitStake {
			continue
		}
		stake += s.powers[v]
		s.byzantine[v] = kinds[r.IntN(len(kinds))]
	}
	s.drawLies()
}

// drawLies sets the clock lies: every clock-ahead or clock-behind validator's, and, in
// swarm mode, a year either way for one byzantine validator in four whatever else it does
// (from its own stream, so the draws of every other purpose stay as they were).
func (s *Sim) drawLies() {
	s.lies = map[int]time.Duration{}
	r := s.rng("lying-clocks")
	for v := range s.powers {
		b, byz := s.byzantine[v]
		switch {
		case !byz:
		case b == clockAhead:
			s.lies[v] = clockLie
		case b == clockBehind:
			s.lies[v] = -clockLie
		case len(s.opt.Behaviours) == 0 && chance(r, 0.25):
			s.lies[v] = clockLie
			if chance(r, 0.5) {
				s.lies[v] = -clockLie
			}
		}
		if s.lies[v] != 0 {
			s.stats.fault("lying-clock")
		}
	}
}

func (s *Sim) createInstances() {
	for author := range s.powers {
		s.addInstance(author, s.byzantine[author])
		if s.byzantine[author] == twin {
			s.addInstance(author, twin)
		}
	}
	s.net = newNetwork(s.sched, s.rng("network"), s.drawLinks(), len(s.instances), &s.stats)
	s.net.deliver = func(from, to int, payload []byte) { s.instances[to].receive(from, payload) }
	s.net.blocked = s.blocked
}

func (s *Sim) addInstance(author int, b behaviour) {
	id := len(s.instances)
	n := &instance{s: s, id: id, author: author, byz: b, signer: s.keys[author],
		rng: s.rng(fmt.Sprintf("instance-%d", id))}
	if b == twin && len(s.instancesOf(author)) > 0 {
		// A twin has the same key but its own signing state and disk.
		n.signer = &signer{key: s.keys[author].key}
	}
	if !s.opt.Calm {
		clock := s.rng("clocks")
		n.offset = time.Duration(clock.IntN(401)-200) * time.Millisecond
		// ±0.05 %: over a minute's run two honest clocks part by at most 460 ms, within the
		// forward drift bound (500 ms) the protocol assumes of honest clocks (PROTOCOL.md
		// §4.2); clocks beyond it are the byzantine liars' (drawLies).
		n.drift = (clock.Float64()*2 - 1) / 2000
	}
	n.offset += s.lies[author]
	s.instances = append(s.instances, n)
}

func (s *Sim) drawLinks() linkConfig {
	if s.opt.Calm {
		return linkConfig{MinLatency: 2 * time.Millisecond, MeanLatency: 3 * time.Millisecond}
	}
	r := s.rng("links")
	cfg := linkConfig{
		MinLatency:  time.Duration(1+r.IntN(20)) * time.Millisecond,
		MeanLatency: time.Duration(1+r.IntN(50)) * time.Millisecond,
		Loss:        r.Float64() * 0.05,
		Duplicate:   r.Float64() * 0.05,
	}
	if chance(r, 0.2) {
		cfg.Loss = r.Float64() * 0.3
	}
	return cfg
}

func (s *Sim) instancesOf(author int) []int {
	var out []int
	for _, n := range s.instances {
		if n.author == author {
			out = append(out, n.id)
		}
	}
	return out
}

func (s *Sim) honestLogs() []*check.NodeLog {
	ids := make([]int, 0, len(s.logs))
	for id := range s.logs {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]*check.NodeLog, len(ids))
	for i, id := range ids {
		out[i] = s.logs[id]
	}
	return out
}

// drain runs on past the end, with no new load, while an acknowledged transaction is not
// yet in the longest honest log, up to half the duration more. Durability is owed once the
// network heals, not by a deadline: a chain slowed by byzantine validators (an equivocator
// late every round holds each round to the leader timeout) can still be committing what
// the workload sent last. What is missing after the drain is a violation (S4).
func (s *Sim) drain(end time.Duration) {
	limit := end + end/2
	for at := end; at < limit && s.uncommitted() > 0; {
		at += time.Second
		s.sched.runUntil(at)
		s.stats.Drain = at - end
	}
}

// uncommitted counts the acknowledged transactions, not excused, that the longest honest
// log does not hold.
func (s *Sim) uncommitted() int {
	var longest *check.NodeLog
	for _, l := range s.honestLogs() {
		if longest == nil || l.Height() > longest.Height() {
			longest = l
		}
	}
	n := 0
	for tx := range s.acked {
		if !s.excused[tx] && (longest == nil || !longest.Has([]byte(tx))) {
			n++
		}
	}
	return n
}

// finish runs the end-of-run checkers and builds the result.
func (s *Sim) finish(heightAtHeal, heightAtEnd map[string]int64) Result {
	logs := s.honestLogs()
	s.violations = append(s.violations, check.Agreement(logs)...)
	acked := make([]string, 0, len(s.acked))
	for tx := range s.acked {
		acked = append(acked, tx)
	}
	sort.Strings(acked)
	s.violations = append(s.violations, check.Durability(logs, acked, s.excused)...)
	judged, excusedPairs := s.hops.orderedPairs()
	s.violations = append(s.violations, check.ClientOrder(logs, judged)...)
	s.stats.OrderedPairs, s.stats.OrderedPairsExcused = len(judged), excusedPairs
	// Liveness is owed only by honest instances that are up and were not byzantine-led:
	// every honest instance is restarted at the heal, so all of them. It is judged at the
	// end of the duration: an instance that first executed during the drain did not by then.
	var live []*check.NodeLog
	for _, n := range s.instances {
		if l := s.logs[n.id]; s.honest(n.author) && n.up && l != nil && heightAtEnd[l.Node] > 0 {
			live = append(live, s.logs[n.id])
			if e := n.core.Stats().Epoch; e > s.stats.Epochs {
				s.stats.Epochs = e
			}
		}
	}
	if len(live) < len(s.instancesOfHonest()) {
		s.violations = append(s.violations, check.Violation{Property: "L1",
			Detail: fmt.Sprintf("only %d of %d honest instances executed any height", len(live), len(s.instancesOfHonest()))})
	}
	s.violations = append(s.violations, check.LivenessAt(live, heightAtHeal, heightAtEnd, 3, 10)...)
	if s.stats.MaxExecutorLag >= executorLag {
		s.stats.SeedsAtLagLimit = 1
	}

	res := Result{Seed: s.opt.Seed, Validators: len(s.powers), Powers: s.powers, GCDepth: s.gcDepth,
		TraceHash: s.sched.traceHash(), Violations: sortedViolations(s.violations)}
	for _, v := range sortedAuthors(s.byzantine) {
		desc := fmt.Sprintf("%d:%s", v, s.byzantine[v])
		if lie := s.lies[v]; lie != 0 && s.byzantine[v] != clockAhead && s.byzantine[v] != clockBehind {
			desc += "+" + string(clockAhead)
			if lie < 0 {
				desc = desc[:len(desc)-len(clockAhead)] + string(clockBehind)
			}
		}
		res.Byzantine = append(res.Byzantine, desc)
	}
	res.Heights = -1
	for _, l := range live {
		if res.Heights < 0 || l.Height() < res.Heights {
			res.Heights = l.Height()
		}
	}
	s.stats.Events = s.sched.events
	s.stats.TxsAcknowledged = len(s.acked)
	s.stats.TxsExcused = len(s.excused)
	if len(logs) > 0 {
		for _, tx := range acked {
			for _, l := range logs {
				if l.Has([]byte(tx)) {
					s.stats.TxsCommitted++
					break
				}
			}
		}
	}
	s.stats.Heights = res.Heights
	res.Stats = s.stats
	return res
}

func (s *Sim) instancesOfHonest() []int {
	var out []int
	for _, n := range s.instances {
		if s.honest(n.author) {
			out = append(out, n.id)
		}
	}
	return out
}

func sortedAuthors(m map[int]behaviour) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// queryCommitted reads every committed kvstore transaction back through the Query
// connection of every honest instance that is up. A halted one is skipped: its halt is a
// violation already, and a socket client whose app failed never answers (cometbft's client
// blocks on calls after it stopped).
func (s *Sim) queryCommitted() {
	for _, n := range s.instances {
		log := s.logs[n.id]
		if !n.up || n.halted || !s.honest(n.author) || log == nil {
			continue
		}
		for _, b := range log.Blocks {
			for _, tx := range b.Txs {
				key, value, ok := strings.Cut(string(tx), "=")
				if !ok {
					continue
				}
				res, err := n.query.Query(context.Background(), &abci.RequestQuery{Data: []byte(key)})
				if err != nil || string(res.Value) != value {
					s.violate("query", fmt.Sprintf("instance %d: key %q reads %q (err %v), committed %q at height %d",
						n.id, key, res.GetValue(), err, value, b.Height))
					return
				}
			}
		}
	}
}
