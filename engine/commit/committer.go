package commit

import (
	"fmt"

	"github.com/tutti-bft/tutti/engine/dag"
	"github.com/tutti-bft/tutti/engine/types"
)

// Kind is a slot's decision.
type Kind int

// Decision kinds.
const (
	Undecided Kind = iota
	Commit
	Skip
)

func (k Kind) String() string {
	return [...]string{"undecided", "commit", "skip"}[k]
}

// Decision is the fate of one leader slot.
type Decision struct {
	Slot   types.Slot
	Kind   Kind
	Block  *types.Block // the committed block when Kind is Commit
	Direct bool
	Anchor types.Ref // the anchor of an indirect decision
}

// SafetyError means two blocks of one slot were both committed: more than f of the stake
// is byzantine. The node must halt loudly rather than fork.
type SafetyError struct {
	Slot types.Slot
	A, B types.Ref
}

func (e *SafetyError) Error() string {
	return fmt.Sprintf("safety violated: two blocks certified for slot %v: %v and %v", e.Slot, e.A, e.B)
}

// Committer runs the decision rules over a DAG, remembering how far it has output.
type Committer struct {
	dag       *dag.DAG
	committee *types.Committee
	schedule  *Schedule
	next      position // the first slot not yet output

	direct   map[types.Slot]Decision
	voteSets map[types.Ref]*voteSet
	certs    map[uint64]map[pairKey]bool // by leader round
}

type position struct {
	round uint64
	rank  int
}

// New makes a committer. committee is normally d.Committee(); the simulator's planted-bug
// mode passes a weakened one.
func New(d *dag.DAG, committee *types.Committee, s *Schedule) *Committer {
	return &Committer{dag: d, committee: committee, schedule: s,
		next:   position{round: d.Epoch().StartRound + 1},
		direct: map[types.Slot]Decision{}, voteSets: map[types.Ref]*voteSet{}, certs: map[uint64]map[pairKey]bool{}}
}

// Schedule returns the leader schedule the committer follows.
func (c *Committer) Schedule() *Schedule { return c.schedule }

// TryDecide returns the longest prefix of decided slots after the last one output, in
// output order (round, then slot rank), skips included, and the first undecided slot
// that stops it (if any). It does not advance: call Advance for each decision consumed.
func (c *Committer) TryDecide() ([]Decision, *types.Slot, error) {
	highest := c.dag.HighestRound()
	if highest < 2 || c.next.round > highest-2 {
		return nil, nil, nil
	}
	var slots []types.Slot
	for r := c.next.round; r <= highest-2; r++ {
		leaders := c.schedule.Leaders(r)
		from := 0
		if r == c.next.round {
			from = c.next.rank
		}
		for _, a := range leaders[min(from, len(leaders)):] {
			slots = append(slots, types.Slot{Round: r, Author: a})
		}
	}
	decisions := make([]Decision, len(slots))
	for i := len(slots) - 1; i >= 0; i-- {
		d, err := c.tryDirect(slots[i])
		if err != nil {
			return nil, nil, err
		}
		if d.Kind == Undecided {
			if d, err = c.tryIndirect(slots[i], decisions[i+1:]); err != nil {
				return nil, nil, err
			}
		}
		decisions[i] = d
	}
	for i, d := range decisions {
		if d.Kind == Undecided {
			s := d.Slot
			return decisions[:i], &s, nil
		}
	}
	return decisions, nil, nil
}

// Advance records that the decision of slot s was consumed; the next TryDecide starts
// after it.
func (c *Committer) Advance(s types.Slot) {
	leaders := c.schedule.Leaders(s.Round)
	for i, a := range leaders {
		if a == s.Author {
			if i+1 < len(leaders) {
				c.next = position{round: s.Round, rank: i + 1}
			} else {
				c.next = position{round: s.Round + 1}
			}
			return
		}
	}
}

// NextRound is the round of the first slot not yet output.
func (c *Committer) NextRound() uint64 { return c.next.round }

// Prune drops cached decisions, votes and certificates at or below the GC round.
func (c *Committer) Prune(gcRound uint64) {
	for s := range c.direct {
		if s.Round <= gcRound {
			delete(c.direct, s)
		}
	}
	for l := range c.voteSets {
		if l.Round <= gcRound {
			delete(c.voteSets, l)
		}
	}
	for r := range c.certs {
		if r <= gcRound {
			delete(c.certs, r)
		}
	}
	c.schedule.Prune(gcRound)
}
