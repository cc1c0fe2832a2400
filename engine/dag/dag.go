package dag

import (
	"fmt"
	"sort"

	"github.com/tutti-bft/tutti/engine/types"
)

// Config is what the DAG needs to judge blocks.
type Config struct {
	ChainID  string
	Epoch    types.Epoch
	Limits   types.BlockLimits
	Verifier types.Verifier
	// MaxRoundsAhead drops (for now) blocks this far above our highest accepted round, so a
	// peer cannot fill the suspended set with far-future junk.
	MaxRoundsAhead uint64
}

// Rejection is a block refused for good, with why.
type Rejection struct {
	Ref    types.Ref
	Reason error
}

// Result says what adding blocks changed.
type Result struct {
	Accepted      []*types.Block // parents before children
	Missing       []types.Ref    // unknown parents to fetch
	Equivocations []types.Equivocation
	Rejected      []Rejection // suspended blocks found invalid once their parents arrived
}

func (r *Result) merge(o Result) {
	r.Accepted = append(r.Accepted, o.Accepted...)
	r.Missing = append(r.Missing, o.Missing...)
	r.Equivocations = append(r.Equivocations, o.Equivocations...)
	r.Rejected = append(r.Rejected, o.Rejected...)
}

type suspended struct {
	block   *types.Block
	missing int
}

// DAG is one epoch's accepted and suspended blocks.
type DAG struct {
	cfg       Config
	epoch     types.Epoch
	committee *types.Committee

	blocks  map[types.Ref]*types.Block
	slots   map[types.Slot][]*types.Block // acceptance order; more than one is equivocation
	byRound map[uint64][]*types.Block
	tallies map[uint64]*types.Tally
	latest  []*types.Block // per author, highest round accepted (first block of its slot)

	suspended        map[types.Ref]*suspended
	suspendedPerSlot map[types.Slot]int
	waiting          map[types.Ref][]types.Ref // missing parent -> suspended children

	gcRound        uint64 // blocks at or below are evicted
	lowestHeld     uint64 // lowest round not yet evicted
	highestRound   uint64
	highestQuorum  uint64 // highest round holding quorum stake
	evidenceBySlot map[types.Slot]bool
}

// New starts a DAG holding the epoch's genesis blocks.
func New(cfg Config) *DAG {
	if cfg.MaxRoundsAhead == 0 {
		cfg.MaxRoundsAhead = 1000
	}
	d := &DAG{cfg: cfg, epoch: cfg.Epoch, committee: cfg.Epoch.Committee,
		blocks: map[types.Ref]*types.Block{}, slots: map[types.Slot][]*types.Block{},
		byRound: map[uint64][]*types.Block{}, tallies: map[uint64]*types.Tally{},
		lowestHeld: cfg.Epoch.StartRound,
		latest:     make([]*types.Block, cfg.Epoch.Committee.Size()),
		suspended:  map[types.Ref]*suspended{}, suspendedPerSlot: map[types.Slot]int{}, waiting: map[types.Ref][]types.Ref{},
		evidenceBySlot: map[types.Slot]bool{}}
	for _, g := range cfg.Epoch.GenesisBlocks() {
		d.insert(g)
	}
	if cfg.Epoch.StartRound > 0 {
		d.gcRound = cfg.Epoch.StartRound - 1
	}
	return d
}

// Committee is the epoch's committee.
func (d *DAG) Committee() *types.Committee { return d.committee }

// Epoch is the epoch this DAG runs.
func (d *DAG) Epoch() types.Epoch { return d.epoch }

// Get returns an accepted block.
func (d *DAG) Get(r types.Ref) (*types.Block, bool) {
	b, ok := d.blocks[r]
	return b, ok
}

// Contains reports whether the block is accepted or suspended.
func (d *DAG) Contains(r types.Ref) bool {
	_, ok := d.blocks[r]
	_, sus := d.suspended[r]
	return ok || sus
}

// Lookup returns an accepted or suspended block, for answering peers' fetches.
func (d *DAG) Lookup(r types.Ref) (*types.Block, bool) {
	if b, ok := d.blocks[r]; ok {
		return b, true
	}
	if s, ok := d.suspended[r]; ok {
		return s.block, true
	}
	return nil, false
}

// SlotBlocks returns the accepted blocks of a slot in acceptance order.
func (d *DAG) SlotBlocks(s types.Slot) []*types.Block { return d.slots[s] }

// RoundBlocks returns the accepted blocks of a round.
func (d *DAG) RoundBlocks(r uint64) []*types.Block { return d.byRound[r] }

// Latest returns an author's highest accepted block (the first one of its slot), nil for
// an author outside the committee (a node that is not a member asks with -1).
func (d *DAG) Latest(author int) *types.Block {
	if author < 0 || author >= len(d.latest) {
		return nil
	}
	return d.latest[author]
}

// HighestRound is the highest round with an accepted block.
func (d *DAG) HighestRound() uint64 { return d.highestRound }

// HighestQuorumRound is the highest round whose accepted blocks hold quorum stake.
func (d *DAG) HighestQuorumRound() uint64 { return d.highestQuorum }

// GCRound is the round at and below which blocks are evicted.
func (d *DAG) GCRound() uint64 { return d.gcRound }

// Size is the number of accepted and suspended blocks held.
func (d *DAG) Size() (accepted, suspendedBlocks int) { return len(d.blocks), len(d.suspended) }

// Add offers a block. A known block changes nothing. An invalid one is an error wrapping
// ErrInvalid; one dropped for now wraps ErrNotNow. Otherwise the block is accepted, or
// suspended with its unknown parents listed in Missing.
func (d *DAG) Add(b *types.Block) (Result, error) {
	if d.Contains(b.Ref()) {
		return Result{}, nil
	}
	if err := d.Check(b); err != nil {
		return Result{}, err
	}
	return d.admit(b)
}

// Check applies every rule Add applies before looking at the block's parents, without
// storing it: a core that holds a block back for a while (one stamped ahead of its clock)
// keeps only blocks that are validly signed and within the rounds it would accept.
func (d *DAG) Check(b *types.Block) error {
	if b.Round <= d.epoch.StartRound {
		return invalid("round %d not above the epoch's genesis round %d", b.Round, d.epoch.StartRound)
	}
	if b.Round <= d.gcRound {
		return fmt.Errorf("%w: round %d at or below GC round %d", ErrNotNow, b.Round, d.gcRound)
	}
	if b.Round > d.highestRound+d.cfg.MaxRoundsAhead {
		return fmt.Errorf("%w: round %d more than %d above %d", ErrNotNow, b.Round, d.cfg.MaxRoundsAhead, d.highestRound)
	}
	return d.checkStateless(b)
}

// Authentic applies the rules that need neither our rounds nor the block's parents (its
// signature among them): a block far above the rounds we accept must pass them before it
// may tell us how far behind we are.
func (d *DAG) Authentic(b *types.Block) error { return d.checkStateless(b) }

// AddOwn inserts a block this validator built and signed itself: it is valid by
// construction and its parents are all held.
func (d *DAG) AddOwn(b *types.Block) (Result, error) {
	if d.Contains(b.Ref()) {
		return Result{}, nil
	}
	return d.admit(b)
}

func (d *DAG) admit(b *types.Block) (Result, error) {
	ref := b.Ref()
	var res Result
	for _, p := range b.Parents {
		if _, ok := d.blocks[p]; !ok && p.Round == d.epoch.StartRound && p.Round > d.gcRound {
			return Result{}, invalid("parent %v is not a genesis block", p)
		}
	}
	missing := 0
	for _, p := range b.Parents {
		if p.Round > d.gcRound {
			if _, ok := d.blocks[p]; !ok {
				missing++
			}
		}
	}
	if missing > 0 && d.suspendedPerSlot[b.Slot()] >= maxSuspendedPerSlot {
		// An honest author has one block per slot; more waiting ones are an equivocator
		// trying to fill our memory with blocks we cannot check yet.
		return Result{}, fmt.Errorf("%w: %d blocks of slot %v already wait for parents", ErrNotNow, maxSuspendedPerSlot, b.Slot())
	}
	for _, p := range b.Parents {
		if p.Round <= d.gcRound {
			continue
		}
		if _, ok := d.blocks[p]; ok {
			continue
		}
		if _, known := d.suspended[p]; !known && len(d.waiting[p]) == 0 {
			res.Missing = append(res.Missing, p)
		}
		d.waiting[p] = append(d.waiting[p], ref)
	}
	if missing > 0 {
		d.suspendedPerSlot[b.Slot()]++
		d.suspended[ref] = &suspended{block: b, missing: missing}
		return res, nil
	}
	if err := d.checkTime(b); err != nil {
		return Result{}, err
	}
	res.merge(d.accept(b))
	return res, nil
}

// accept inserts a block and releases every suspended descendant it completes.
func (d *DAG) accept(b *types.Block) Result {
	var res Result
	queue := []*types.Block{b}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if ev, ok := d.insert(cur); ok {
			res.Equivocations = append(res.Equivocations, ev)
		}
		res.Accepted = append(res.Accepted, cur)
		queue = append(queue, d.release(cur.Ref(), &res)...)
	}
	return res
}

// release counts a now-present parent for its waiting children and returns those that
// became complete and passed the time check.
func (d *DAG) release(parent types.Ref, res *Result) []*types.Block {
	var ready []*types.Block
	for _, child := range d.waiting[parent] {
		s, ok := d.suspended[child]
		if !ok {
			continue
		}
		s.missing--
		if s.missing > 0 {
			continue
		}
		delete(d.suspended, child)
		d.unsuspend(child.Slot())
		if err := d.checkTime(s.block); err != nil {
			res.Rejected = append(res.Rejected, Rejection{Ref: child, Reason: err})
			continue
		}
		ready = append(ready, s.block)
	}
	delete(d.waiting, parent)
	return ready
}

// insert records an accepted block; the second distinct block of a slot yields evidence.
func (d *DAG) insert(b *types.Block) (types.Equivocation, bool) {
	ref, slot := b.Ref(), b.Slot()
	d.blocks[ref] = b
	prior := d.slots[slot]
	d.slots[slot] = append(prior, b)
	d.byRound[b.Round] = append(d.byRound[b.Round], b)
	t := d.tallies[b.Round]
	if t == nil {
		t = d.committee.NewTally()
		d.tallies[b.Round] = t
	}
	if t.Add(b.Author) && b.Round > d.highestQuorum {
		d.highestQuorum = b.Round
	}
	if b.Round > d.highestRound {
		d.highestRound = b.Round
	}
	if l := d.latest[b.Author]; l == nil || b.Round > l.Round {
		d.latest[b.Author] = b
	}
	if len(prior) > 0 && !d.evidenceBySlot[slot] {
		d.evidenceBySlot[slot] = true
		return types.NewEquivocation(prior[0], b), true
	}
	return types.Equivocation{}, false
}

// SetGCRound evicts every block at or below round and forgets suspended blocks there.
// Suspended blocks that waited only on evicted parents are accepted now. The GC round
// never moves backwards.
func (d *DAG) SetGCRound(round uint64) Result {
	var res Result
	if round <= d.gcRound {
		return res
	}
	for r := d.lowestHeld; r <= round; r++ {
		for _, b := range d.byRound[r] {
			delete(d.blocks, b.Ref())
			delete(d.slots, b.Slot())
			delete(d.evidenceBySlot, b.Slot())
		}
		delete(d.byRound, r)
		delete(d.tallies, r)
	}
	d.gcRound = round
	d.lowestHeld = round + 1
	for ref := range d.suspended {
		if ref.Round <= round {
			delete(d.suspended, ref)
			d.unsuspend(ref.Slot())
		}
	}
	// Parents now below the GC round count as present. Release in ref order so the result
	// does not depend on map iteration.
	var gone []types.Ref
	for p := range d.waiting {
		if p.Round <= round {
			gone = append(gone, p)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return refLess(gone[i], gone[j]) })
	var ready []*types.Block
	for _, p := range gone {
		ready = append(ready, d.release(p, &res)...)
	}
	for _, b := range ready {
		if !d.Contains(b.Ref()) {
			res.merge(d.accept(b))
		}
	}
	// d.latest keeps pointing at evicted blocks on purpose: an author's next block still
	// lists its previous one first, however old.
	return res
}

// maxSuspendedPerSlot bounds blocks of one slot waiting for parents (two: one honest
// block and one twin to produce evidence from).
const maxSuspendedPerSlot = 2

func (d *DAG) unsuspend(s types.Slot) {
	if d.suspendedPerSlot[s] <= 1 {
		delete(d.suspendedPerSlot, s)
		return
	}
	d.suspendedPerSlot[s]--
}

func refLess(a, b types.Ref) bool {
	if a.Round != b.Round {
		return a.Round < b.Round
	}
	if a.Author != b.Author {
		return a.Author < b.Author
	}
	return string(a.Digest[:]) < string(b.Digest[:])
}

// Reaches reports whether target lies in from's causal history (or is from), walking only
// rounds at or above target's round.
func (d *DAG) Reaches(from *types.Block, target types.Ref) bool {
	if from.Ref() == target {
		return true
	}
	seen := map[types.Ref]bool{}
	stack := []*types.Block{from}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range cur.Parents {
			if p == target {
				return true
			}
			if p.Round <= target.Round || seen[p] {
				continue
			}
			seen[p] = true
			if pb, ok := d.blocks[p]; ok {
				stack = append(stack, pb)
			}
		}
	}
	return false
}

// AncestorsAt returns the blocks of one round in from's causal history, in walk order.
func (d *DAG) AncestorsAt(from *types.Block, round uint64) []*types.Block {
	var out []*types.Block
	if from.Round == round {
		return []*types.Block{from}
	}
	seen := map[types.Ref]bool{}
	stack := []*types.Block{from}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range cur.Parents {
			if p.Round < round || seen[p] {
				continue
			}
			seen[p] = true
			pb, ok := d.blocks[p]
			if !ok {
				continue
			}
			if p.Round == round {
				out = append(out, pb)
			} else {
				stack = append(stack, pb)
			}
		}
	}
	return out
}
