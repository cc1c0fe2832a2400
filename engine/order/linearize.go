package order

import (
	"crypto/sha256"
	"sort"

	"github.com/tutti-bft/tutti/engine/dag"
	"github.com/tutti-bft/tutti/engine/types"
)

// AuthoredAttestation is an attestation together with the author whose block carried it.
type AuthoredAttestation struct {
	Author      int
	Attestation *types.Attestation
}

// Commit is the ordered output of one committed leader.
type Commit struct {
	Index        uint64
	Leader       *types.Block
	Blocks       []*types.Block      // sorted by (round, author rank in the round)
	Txs          [][]byte            // payloads concatenated, duplicates dropped
	TxHashes     [][sha256.Size]byte // the SHA-256 of each of Txs
	TxBytes      int
	TimeMs       int64
	Evidence     []types.Equivocation // first time ordered
	Attestations []AuthoredAttestation
}

// LinearizerConfig tunes linearization.
type LinearizerConfig struct {
	GCDepth uint64
	// DedupeRounds is how many leader rounds a transaction hash is remembered for dropping
	// duplicates; it bounds the memory of the dedupe set.
	DedupeRounds uint64
	// NoSlotGuard turns off the one-block-per-slot guard (Sui#24498's bug) so the simulator
	// can check that its checkers catch a double-ordered equivocation. Never set it otherwise.
	NoSlotGuard bool
}

// Linearizer orders each committed leader's not-yet-ordered causal history.
type Linearizer struct {
	cfg       LinearizerConfig
	dag       *dag.DAG
	committee *types.Committee

	orderedSlots map[types.Slot]bool
	orderedRefs  map[types.Ref]bool // only used under NoSlotGuard
	evidenceSeen map[types.Slot]bool

	lastIndex       uint64
	lastTimeMs      int64
	lastLeaderRound uint64

	seenTx      map[[sha256.Size]byte]uint64 // tx hash -> leader round first ordered
	txByRound   map[uint64][][sha256.Size]byte
	dedupeFloor uint64 // lowest leader round whose hashes may still be remembered
}

// NewLinearizer starts ordering after commit index lastIndex (0: nothing ordered yet).
func NewLinearizer(cfg LinearizerConfig, d *dag.DAG) *Linearizer {
	if cfg.DedupeRounds == 0 {
		cfg.DedupeRounds = 10
	}
	return &Linearizer{cfg: cfg, dag: d, committee: d.Committee(),
		orderedSlots: map[types.Slot]bool{}, orderedRefs: map[types.Ref]bool{},
		evidenceSeen: map[types.Slot]bool{}, lastTimeMs: d.Epoch().GenesisTimeMs,
		lastLeaderRound: d.Epoch().StartRound, dedupeFloor: d.Epoch().StartRound,
		seenTx: map[[sha256.Size]byte]uint64{}, txByRound: map[uint64][][sha256.Size]byte{}}
}

// Successor starts linearizing the next epoch's DAG, continuing the commit indices and the
// dedupe set: the old epoch's unordered transactions are proposed again in the new one,
// and a copy of one may have been ordered in the old one (a relayed transaction two
// validators carried). Round numbers continue upward, so the window goes on as it was.
func (l *Linearizer) Successor(d *dag.DAG) *Linearizer {
	next := NewLinearizer(l.cfg, d)
	next.lastIndex = l.lastIndex
	next.seenTx, next.txByRound, next.dedupeFloor = l.seenTx, l.txByRound, l.dedupeFloor
	return next
}

// LastLeaderRound is the round of the last committed leader (the epoch's genesis round
// before any).
func (l *Linearizer) LastLeaderRound() uint64 { return l.lastLeaderRound }

// SlotOrdered reports whether a block of the slot was ordered (above the GC round).
func (l *Linearizer) SlotOrdered(s types.Slot) bool { return l.orderedSlots[s] }

// GCRound is the round at and below which nothing more is ordered: the last committed
// leader's round minus the GC depth.
func (l *Linearizer) GCRound() uint64 {
	if l.lastLeaderRound <= l.cfg.GCDepth {
		return 0
	}
	return l.lastLeaderRound - l.cfg.GCDepth
}

// LastIndex is the index of the last commit produced.
func (l *Linearizer) LastIndex() uint64 { return l.lastIndex }

func (l *Linearizer) isOrdered(b *types.Block) bool {
	if l.cfg.NoSlotGuard {
		return l.orderedRefs[b.Ref()]
	}
	return l.orderedSlots[b.Slot()]
}

// Linearize produces the commit of one leader, in commit order.
func (l *Linearizer) Linearize(leader *types.Block) Commit {
	gc := l.GCRound()
	genesis := l.dag.Epoch().StartRound
	var picked []*types.Block
	visited := map[types.Ref]bool{leader.Ref(): true}
	stack := []*types.Block{leader}
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if l.isOrdered(b) {
			// Another block of this slot was ordered first (an equivocation): never order
			// a second one, and do not walk through it.
			continue
		}
		l.orderedSlots[b.Slot()] = true
		l.orderedRefs[b.Ref()] = true
		picked = append(picked, b)
		for i := len(b.Parents) - 1; i >= 0; i-- {
			p := b.Parents[i]
			if p.Round <= gc || p.Round <= genesis || visited[p] {
				continue
			}
			visited[p] = true
			if pb, ok := l.dag.Get(p); ok && !l.isOrdered(pb) {
				stack = append(stack, pb)
			}
		}
	}
	n := uint64(l.committee.Size())
	rank := func(b *types.Block) uint64 { return (uint64(b.Author) + n - b.Round%n) % n }
	sort.Slice(picked, func(i, j int) bool {
		if picked[i].Round != picked[j].Round {
			return picked[i].Round < picked[j].Round
		}
		return rank(picked[i]) < rank(picked[j])
	})

	l.lastIndex++
	c := Commit{Index: l.lastIndex, Leader: leader, Blocks: picked, TimeMs: l.commitTime(leader)}
	l.lastTimeMs = c.TimeMs
	for _, b := range picked {
		for _, tx := range b.Txs {
			h := sha256.Sum256(tx)
			if _, dup := l.seenTx[h]; dup {
				continue
			}
			l.seenTx[h] = leader.Round
			l.txByRound[leader.Round] = append(l.txByRound[leader.Round], h)
			c.Txs = append(c.Txs, tx)
			c.TxHashes = append(c.TxHashes, h)
			c.TxBytes += len(tx)
		}
		for _, e := range b.Evidence {
			s := types.Slot{Round: e.Round, Author: e.Author}
			if !l.evidenceSeen[s] {
				l.evidenceSeen[s] = true
				c.Evidence = append(c.Evidence, e)
			}
		}
		if b.Attestation != nil {
			c.Attestations = append(c.Attestations, AuthoredAttestation{Author: b.Author, Attestation: b.Attestation})
		}
	}
	if leader.Round > l.lastLeaderRound {
		l.advance(leader.Round)
	}
	return c
}

// Ordered reports whether a transaction with this SHA-256 hash was ordered within the
// dedupe window.
func (l *Linearizer) Ordered(hash [sha256.Size]byte) bool {
	_, ok := l.seenTx[hash]
	return ok
}

// advance moves the last leader round and forgets what fell below the GC and dedupe horizons.
func (l *Linearizer) advance(round uint64) {
	l.lastLeaderRound = round
	for ; l.dedupeFloor+l.cfg.DedupeRounds <= round; l.dedupeFloor++ {
		for _, h := range l.txByRound[l.dedupeFloor] {
			delete(l.seenTx, h)
		}
		delete(l.txByRound, l.dedupeFloor)
	}
	gc := l.GCRound()
	for s := range l.orderedSlots {
		if s.Round <= gc {
			delete(l.orderedSlots, s)
		}
	}
	for r := range l.orderedRefs {
		if r.Round <= gc {
			delete(l.orderedRefs, r)
		}
	}
	for s := range l.evidenceSeen {
		if s.Round <= gc {
			delete(l.evidenceSeen, s)
		}
	}
}

// commitTime is the stake-weighted median of the times of the leader's parents from the
// round before it (a quorum, so bounded by honest clocks), forced strictly above the
// previous commit's time.
func (l *Linearizer) commitTime(leader *types.Block) int64 {
	type sample struct {
		t     int64
		stake int64
	}
	var samples []sample
	var total int64
	for _, p := range leader.Parents {
		if p.Round+1 != leader.Round {
			continue
		}
		pb, ok := l.dag.Get(p)
		if !ok {
			continue
		}
		s := l.committee.Power(p.Author)
		samples = append(samples, sample{pb.TimeMs, s})
		total += s
	}
	t := leader.TimeMs
	if len(samples) > 0 {
		sort.Slice(samples, func(i, j int) bool { return samples[i].t < samples[j].t })
		var acc int64
		for _, s := range samples {
			acc += s.stake
			if acc*2 >= total {
				t = s.t
				break
			}
		}
	}
	if t <= l.lastTimeMs {
		t = l.lastTimeMs + 1
	}
	return t
}
