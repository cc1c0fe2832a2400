package core

import (
	"crypto/sha256"
	"sort"
	"time"

	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

// Relayed transactions (PROTOCOL.md §2.1). A node that admits a client's transaction
// passes it on to its peers, naming the validator meant to propose it (the owner). Every
// other validator keeps it as a fallback: it never proposes it while the owner does. The
// core tracks those fallbacks for two rules.
//
// Order. A client that sends its next transaction t to this validator once the previous
// one f was accepted elsewhere (and relayed here) must see f ordered first. So t may only
// go into a block whose causal history holds every relayed transaction the mempool
// admitted before t (its barrier), since a block is ordered after everything in its
// history. A relayed transaction f stops holding ours back when:
//   - it is seen: in a block in our block's history (below), or ordered, or dropped;
//   - its owner is gone (its latest block trails the DAG by staleRounds): we carry f
//     ourselves, ahead of ours;
//   - or its owner had its chance: our block's history holds the owner's blocks up to
//     releaseRounds above the DAG's highest round when f arrived here, and f is not in
//     them. A healthy owner proposes f in one of its next two blocks (the first may
//     already be on its way with an earlier batch), so this releases only an owner that
//     holds f back itself.
//
// Waiting for every earlier relayed transaction without that release would chain: under
// load each transaction waits for one admitted a moment before it elsewhere, which waits
// for the one before it, and the wait grows with every switch between owners. With it, a
// transaction of ours waits at most about releaseRounds rounds. What that guarantees, and
// what it does not (a client hopping faster than the owners' rounds, an owner that
// crashes), is in PROTOCOL.md §2.1.
//
// Takeover. A relayed transaction whose owner is gone, or not seen for TakeoverDelay
// whatever the owner does (it may have restarted with an empty mempool), goes into our
// next block. A late copy from the owner is dropped by the
// linearizer's dedupe (DedupeRounds covers the rounds that can separate the two).
//
// Rounds, not only time, must pass (staleRounds since the relayed transaction arrived):
// when the whole network stalls (a partition without a quorum) nobody's block shows up,
// and taking over then would have every validator carry every relayed transaction once
// rounds resume. Carried transactions keep the order the mempool admitted them in, ours
// included: one of ours goes after the relayed ones its barrier counts, before later ones.
//
// Seen means: in a block in our block's causal history. A block of author a at round ρ is
// there when our block references a block of a at round ρ or above, or an earlier one of
// ours did: an honest author's blocks each reference its previous one. (An equivocator's
// fork may break that; the order rule then holds only for clients of honest validators.)
// A copy can also be lost: an equivocator's other block takes its slot in the order (one
// block per slot is ordered), or its slot falls below the GC round unordered. Either way
// the transaction counts as unseen again, so its takeover goes on; otherwise it would wait
// forever for a copy that can no longer be ordered. An epoch change starts a new DAG, so
// what was seen in the old one is forgotten.

// staleRounds is how far an owner's latest block must trail the DAG's highest round for
// the owner to count as gone, and how many rounds must pass after a relayed transaction
// arrived before it is taken over. releaseRounds: how far above the highest round at a
// relayed transaction's arrival its owner must have sent a block for it to stop holding
// ours back.
const (
	staleRounds   = 10
	releaseRounds = 2
)

// relayState is the core's view of the relayed transactions the mempool holds.
type relayState struct {
	waiting []*fallback            // not yet resolved, in Seq order (resolved ones are pruned lazily)
	byKey   map[[32]byte]*fallback // every entry of waiting
	through uint64                 // highest Seq received
	// The fallbacks seen in each slot whose block is not ordered yet, to count them unseen
	// again if the slot is ordered with another block or collected.
	bySlot map[slot][]*fallback
}

type slot struct {
	author int
	round  uint64
}

type fallback struct {
	seq     uint64
	tx      []byte
	key     [32]byte
	owner   []byte
	at      time.Time
	atRound uint64 // the DAG's highest round when it arrived
	// The first accepted block carrying it: its author and round (round 0: none yet).
	seenAuthor int
	seenRound  uint64
	resolved   bool // ordered, dropped by the mempool, or carried by us
}

// relayed takes in what the mempool admitted and dropped since the last call.
// Admissions go first: one batch may carry a transaction and its drop.
func (c *Core) relayed(in TxsRelayed) {
	c.relayAdmitted(in.Txs)
	r := &c.relay
	for _, seq := range in.Dropped {
		// waiting is in Seq order, and a Seq appears in it at most once.
		i := sort.Search(len(r.waiting), func(i int) bool { return r.waiting[i].seq >= seq })
		if i < len(r.waiting) && r.waiting[i].seq == seq {
			c.resolve(r.waiting[i])
		}
	}
}

func (c *Core) relayAdmitted(txs []RelayedTx) {
	if c.self < 0 {
		return // we propose nothing, so we neither wait for nor take over anything
	}
	r := &c.relay
	if r.byKey == nil {
		r.byKey = map[[32]byte]*fallback{}
	}
	for _, t := range txs {
		if t.Seq <= r.through {
			continue // a repeat: the numbering only goes up
		}
		r.through = t.Seq
		key := sha256.Sum256(t.Tx)
		if _, dup := r.byKey[key]; dup || c.lin.Ordered(key) {
			continue // ordered already: the relay arrived after its commit
		}
		f := &fallback{seq: t.Seq, tx: t.Tx, key: key, owner: t.Owner, at: c.now, atRound: c.dag.HighestRound()}
		r.waiting = append(r.waiting, f)
		r.byKey[key] = f
	}
}

func (c *Core) resolve(f *fallback) {
	if f.resolved {
		return
	}
	f.resolved = true
	delete(c.relay.byKey, f.key)
}

// relaySeen notes the relayed transactions an accepted block carries.
func (c *Core) relaySeen(b *types.Block) {
	r := &c.relay
	if len(r.byKey) == 0 || c.lin.SlotOrdered(b.Slot()) || b.Round <= c.dag.GCRound() {
		return // another block of its slot was ordered, or it arrived too late to be
	}
	for _, tx := range b.Txs {
		if f, ok := r.byKey[sha256.Sum256(tx)]; ok && f.seenRound == 0 {
			f.seenAuthor, f.seenRound = b.Author, b.Round
			if r.bySlot == nil {
				r.bySlot = map[slot][]*fallback{}
			}
			at := slot{b.Author, b.Round}
			r.bySlot[at] = append(r.bySlot[at], f)
		}
	}
}

// relayLost counts as unseen again the fallbacks whose copy can no longer be ordered:
// their slot was ordered (cm) and they are still waiting, so the ordered block was
// another one, or their slot is at or below the GC round.
func (c *Core) relayLost(cm *order.Commit, gcRound uint64) {
	r := &c.relay
	if len(r.bySlot) == 0 {
		return
	}
	unsee := func(at slot) {
		for _, f := range r.bySlot[at] {
			if !f.resolved && f.seenAuthor == at.author && f.seenRound == at.round {
				f.seenRound = 0
			}
		}
		delete(r.bySlot, at)
	}
	if cm != nil {
		for _, b := range cm.Blocks {
			unsee(slot{b.Author, b.Round})
		}
		return
	}
	for at := range r.bySlot {
		if at.round <= gcRound {
			unsee(at)
		}
	}
}

// relayOrdered resolves the relayed transactions a commit ordered.
func (c *Core) relayOrdered(cm order.Commit) {
	if len(c.relay.byKey) == 0 {
		return
	}
	for _, h := range cm.TxHashes {
		if f, ok := c.relay.byKey[h]; ok {
			c.resolve(f)
		}
	}
	c.relayLost(&cm, 0)
}

// relayPlan decides, for our block with these parents, which relayed transactions we
// carry ourselves (in Seq order, within the byte and count budget) and up to which Seq
// nothing holds ours back: our own transactions with a barrier at or below it may follow.
func (c *Core) relayPlan(parents []*types.Block, maxTxs, maxBytes int) (carry []*fallback, clearThrough uint64) {
	rs := &c.relay
	for len(rs.waiting) > 0 && rs.waiting[0].resolved {
		rs.waiting = rs.waiting[1:]
	}
	if len(rs.waiting) == 0 {
		return nil, rs.through
	}
	reach := append([]uint64(nil), c.included...) // per author: highest round in our history
	for _, p := range parents {
		if p.Author >= 0 && p.Author < len(reach) {
			reach[p.Author] = max(reach[p.Author], p.Round)
		}
	}
	seen := func(f *fallback) bool {
		return f.resolved || f.seenRound != 0 && f.seenAuthor < len(reach) && reach[f.seenAuthor] >= f.seenRound
	}
	highest := c.dag.HighestRound()
	// The last relayed transaction to carry now: its owner is gone, or it is overdue.
	// Every unseen one before it is carried too, so they keep their order.
	last := -1
	for i, f := range rs.waiting {
		if !seen(f) && (c.ownerGone(f, highest) || c.overdue(f, highest)) {
			last = i
		}
	}
	carried := map[*fallback]bool{}
	bytes := 0
	for i := 0; i <= last && len(carry) < maxTxs; i++ {
		f := rs.waiting[i]
		if seen(f) {
			continue
		}
		if bytes+len(f.tx) > maxBytes {
			break
		}
		bytes += len(f.tx)
		carry = append(carry, f)
		carried[f] = true
	}
	clearThrough = rs.through
	for _, f := range rs.waiting {
		if c.cfg.Mutations.NoClientOrder {
			break
		}
		if !seen(f) && !carried[f] && !c.released(f, reach) {
			clearThrough = f.seq - 1
			break
		}
	}
	return carry, clearThrough
}

// ownerGone: the relayed transaction has waited staleRounds and its owner's latest block
// trails the DAG by as much (or it is no validator of this epoch).
func (c *Core) ownerGone(f *fallback, highest uint64) bool {
	if highest < f.atRound+staleRounds {
		return false
	}
	owner := c.cfg.Epoch.Committee.IndexOf(f.owner)
	if owner < 0 {
		return true
	}
	latest := c.dag.Latest(owner)
	return latest == nil || latest.Round+staleRounds < highest
}

// overdue: out of the DAG for TakeoverDelay (and staleRounds), whatever its owner does.
// An owner that is alive holds a transaction that long only if it lost it.
func (c *Core) overdue(f *fallback, highest uint64) bool {
	return c.now.Sub(f.at) >= c.cfg.TakeoverDelay && highest >= f.atRound+staleRounds
}

// released: our block's history holds the owner's blocks up to releaseRounds above the
// highest round when the relayed transaction arrived, without it (or the owner is no
// validator of this epoch).
func (c *Core) released(f *fallback, reach []uint64) bool {
	owner := c.cfg.Epoch.Committee.IndexOf(f.owner)
	return owner < 0 || reach[owner] >= f.atRound+releaseRounds
}

// relayNewEpoch forgets where relayed transactions were seen, and the rounds they arrived
// at: the old DAG is gone, and the new one's rounds start far above. Their owners propose
// again what the old epoch left unordered, from their first blocks of the new one on, so
// the release counts from a little above its start.
func (c *Core) relayNewEpoch() {
	for _, f := range c.relay.waiting {
		f.seenRound, f.atRound = 0, c.cfg.Epoch.StartRound+2*releaseRounds
	}
	c.relay.bySlot = nil
}
