package commit

import (
	"github.com/tutti-bft/tutti/engine/types"
)

type pairKey struct {
	block  types.Ref
	leader types.Ref
}

// supported returns the block of slot that b supports: the first block of that slot met in
// a depth-first walk of b's history taking parents in their listed order. Because honest
// authors list their own previous block first, an honest author never switches support.
func (c *Committer) supported(b *types.Block, slot types.Slot) (types.Ref, bool) {
	if b.Round == slot.Round+1 {
		// Parents are below b's round, so a walk through a round-r parent only meets
		// rounds below the slot: the answer is the first parent in the slot.
		for _, p := range b.Parents {
			if p.Slot() == slot {
				return p, true
			}
		}
		return types.Ref{}, false
	}
	seen := map[types.Ref]bool{}
	var walk func(*types.Block) (types.Ref, bool)
	walk = func(cur *types.Block) (types.Ref, bool) {
		for _, p := range cur.Parents {
			if p.Round < slot.Round || seen[p] {
				continue
			}
			if p.Slot() == slot {
				return p, true
			}
			seen[p] = true
			if pb, ok := c.dag.Get(p); ok {
				if r, found := walk(pb); found {
					return r, true
				}
			}
		}
		return types.Ref{}, false
	}
	return walk(b)
}

// votesFor returns the round r+1 blocks that vote for leader L: those that support it.
// The set grows as blocks of r+1 arrive and is cached, so each block is examined once
// per leader.
func (c *Committer) votesFor(leader types.Ref) map[types.Ref]bool {
	vs := c.voteSets[leader]
	if vs == nil {
		vs = &voteSet{votes: map[types.Ref]bool{}}
		c.voteSets[leader] = vs
	}
	blocks := c.dag.RoundBlocks(leader.Round + 1)
	for _, b := range blocks[min(vs.seen, len(blocks)):] {
		if r, ok := c.supported(b, leader.Slot()); ok && r == leader {
			vs.votes[b.Ref()] = true
		}
	}
	vs.seen = len(blocks)
	return vs.votes
}

type voteSet struct {
	seen  int // how many round r+1 blocks were examined
	votes map[types.Ref]bool
}

// isCertificate: a round r+2 block whose parents include quorum stake of votes for L.
func (c *Committer) isCertificate(cert *types.Block, leader types.Ref) bool {
	if cert.Round != leader.Round+2 {
		return false
	}
	k := pairKey{cert.Ref(), leader}
	memo := c.memo(c.certs, leader.Round)
	if v, ok := memo[k]; ok {
		return v
	}
	votes := c.votesFor(leader)
	t := c.committee.NewTally()
	v := false
	for _, p := range cert.Parents {
		if p.Round == leader.Round+1 && votes[p] && t.Add(p.Author) {
			v = true
			break
		}
	}
	memo[k] = v
	return v
}

// memo returns the per-leader-round cache, so GC drops whole rounds at once.
func (c *Committer) memo(byRound map[uint64]map[pairKey]bool, round uint64) map[pairKey]bool {
	m := byRound[round]
	if m == nil {
		m = map[pairKey]bool{}
		byRound[round] = m
	}
	return m
}

// isBlame: a round r+1 block with no parent authored by the slot's author.
func isBlame(b *types.Block, slot types.Slot) bool {
	for _, p := range b.Parents {
		if p.Author == slot.Author {
			return false
		}
	}
	return true
}

// tryDirect applies the direct rules to a slot: skip on quorum blame at r+1, commit on
// quorum certificates at r+2. Both are final once reached, so they are cached.
func (c *Committer) tryDirect(slot types.Slot) (Decision, error) {
	if d, ok := c.direct[slot]; ok {
		return d, nil
	}
	blame := c.committee.NewTally()
	for _, b := range c.dag.RoundBlocks(slot.Round + 1) {
		if isBlame(b, slot) && blame.Add(b.Author) {
			d := Decision{Slot: slot, Kind: Skip, Direct: true}
			c.direct[slot] = d
			return d, nil
		}
	}
	var committed *types.Block
	for _, l := range c.dag.SlotBlocks(slot) {
		support := c.committee.NewTally()
		for _, cert := range c.dag.RoundBlocks(slot.Round + 2) {
			if !support.Has(cert.Author) && c.isCertificate(cert, l.Ref()) {
				support.Add(cert.Author)
			}
		}
		if support.Quorum() {
			if committed != nil {
				return Decision{}, &SafetyError{Slot: slot, A: committed.Ref(), B: l.Ref()}
			}
			committed = l
		}
	}
	if committed == nil {
		return Decision{Slot: slot, Kind: Undecided}, nil
	}
	d := Decision{Slot: slot, Kind: Commit, Block: committed, Direct: true}
	c.direct[slot] = d
	return d, nil
}

// tryIndirect decides a slot through its anchor: the first later slot at round >= r+3
// that is decided commit (skips are passed over; an undecided one stops the search).
// Commit the slot's block certified in the anchor's history, else skip.
func (c *Committer) tryIndirect(slot types.Slot, later []Decision) (Decision, error) {
	var anchor *types.Block
	for _, d := range later {
		if d.Slot.Round < slot.Round+3 {
			continue
		}
		if d.Kind == Undecided {
			return Decision{Slot: slot, Kind: Undecided}, nil
		}
		if d.Kind == Commit {
			anchor = d.Block
			break
		}
	}
	if anchor == nil {
		return Decision{Slot: slot, Kind: Undecided}, nil
	}
	certs := c.dag.AncestorsAt(anchor, slot.Round+2)
	var committed *types.Block
	for _, l := range c.dag.SlotBlocks(slot) {
		for _, cert := range certs {
			if c.isCertificate(cert, l.Ref()) {
				if committed != nil && committed != l {
					return Decision{}, &SafetyError{Slot: slot, A: committed.Ref(), B: l.Ref()}
				}
				committed = l
				break
			}
		}
	}
	if committed == nil {
		return Decision{Slot: slot, Kind: Skip, Anchor: anchor.Ref()}, nil
	}
	return Decision{Slot: slot, Kind: Commit, Block: committed, Anchor: anchor.Ref()}, nil
}
