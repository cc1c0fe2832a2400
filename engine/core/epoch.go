package core

import (
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/tutti-bft/tutti/engine/commit"
	"github.com/tutti-bft/tutti/engine/dag"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// epochChange is an epoch end the cutter found (block Height is the epoch's last), waiting
// for our own execution of Height-1 to tell us the new committee's keys and powers.
type epochChange struct {
	height     int64
	nextHash   []byte // the validator-set hash a quorum attested for Height+1
	startRound uint64
	genesisMs  int64
}

// pastEpoch is an epoch we finished: its DAG (frozen, GC-bounded) and our last block in it.
type pastEpoch struct {
	number uint64
	dag    *dag.DAG
	own    *types.Block
}

// keptEpochs is how many finished epochs we keep to help peers that lag behind finish
// them (with an app that changes powers every block, epochs can be a block long).
const keptEpochs = 4

// futureBlock is a block of the next epoch that arrived before we entered it.
type futureBlock struct {
	from  int
	block *types.Block
}

// Blocks of the next epoch held until we enter it. Beyond these bounds they are dropped
// and fetched again later: a block of the new epoch whose parents we lack is suspended
// and its parents are asked from the sender, so a dropped block costs a round trip only.
const (
	maxFutureBlocks = 4096
	maxFutureBytes  = 64 << 20
)

// beginEpochChange stops ordering in the current epoch: the block just cut ended it. The
// new epoch's genesis round is above every round an honest validator can have signed in
// this one: nobody proposes more than MaxUncommittedRounds above its last committed leader
// round, and no honest validator's last committed leader is above the closing one before
// it has cut the closing block, after which it proposes nothing more here.
func (c *Core) beginEpochChange(closingHeight int64, closingTimeMs int64, closingLeaderRound uint64, nextHash []byte) {
	c.change = &epochChange{height: closingHeight, nextHash: nextHash,
		startRound: closingLeaderRound + c.cfg.MaxUncommittedRounds + 1, genesisMs: closingTimeMs}
	c.tryFinishEpochChange()
}

// tryFinishEpochChange enters the new epoch once we know the set of Height+1, which our
// execution of Height-1 returned (updates take effect at H+2). Its hash must be the one a
// quorum attested: anything else means our app diverged, and we halt.
func (c *Core) tryFinishEpochChange() {
	ch := c.change
	if ch == nil || c.halted {
		return
	}
	set, ok := c.nextValidators[ch.height-1]
	if !ok {
		return // our execution of Height-1 has not come back yet
	}
	if len(set) == 0 {
		c.halt(fmt.Sprintf("height %d ends the epoch but our execution of height %d returned no next validator set",
			ch.height, ch.height-1))
		return
	}
	if got := types.ValidatorSetHash(set); string(got) != string(ch.nextHash) {
		c.halt(fmt.Sprintf("validator set fork for height %d: our execution of height %d gives set hash %s, quorum attested %s",
			ch.height+1, ch.height-1, hex.EncodeToString(got), hex.EncodeToString(ch.nextHash)))
		return
	}
	com, err := c.cfg.Epoch.Committee.Successor(set)
	if err != nil {
		c.halt(fmt.Sprintf("validator set of height %d: %v", ch.height+1, err))
		return
	}
	c.change = nil
	c.enterEpoch(types.Epoch{Number: c.cfg.Epoch.Number + 1, StartRound: ch.startRound,
		GenesisTimeMs: ch.genesisMs, Committee: com})
}

// enterEpoch replaces the DAG, decision rules, linearizer and cutter with the next epoch's,
// continuing heights, commit indices and the hash chain. The previous DAG is kept to answer
// peers still finishing it. Our own transactions in blocks the old epoch never ordered are
// proposed again (or handed back to the mempool when we left the committee).
func (c *Core) enterEpoch(next types.Epoch) {
	var unordered [][]byte
	var barriers []uint64
	if !c.restoring {
		// A replay reaches epoch ends the previous run already passed; it proposed these
		// again then (they are in our stored blocks of the new epoch) or lost them with its
		// mempool, so they are not queued twice.
		unordered, barriers = c.notOrdered(c.unorderedOwnTxs())
	}
	done := pastEpoch{number: c.cfg.Epoch.Number, dag: c.dag}
	if own := c.dag.Latest(c.self); own != nil && own.Round > c.cfg.Epoch.StartRound {
		done.own = own
	}
	c.past = append(c.past, done)
	if len(c.past) > keptEpochs {
		c.past = append([]pastEpoch(nil), c.past[1:]...)
	}
	c.cfg.Epoch = next
	c.self = -1
	if c.signer != nil {
		c.self = next.Committee.IndexOf(c.signer.PubKey())
	}
	c.dag = dag.New(dag.Config{ChainID: c.cfg.ChainID, Epoch: next, Limits: c.cfg.Limits, Verifier: c.verifier})
	decide := next.Committee
	if c.cfg.Mutations.WeakQuorum {
		decide = decide.WithWeakQuorum()
	}
	c.committer = commit.New(c.dag, decide, commit.NewSchedule(next.Committee, c.cfg.LeaderSlots, c.cfg.ReputationWindow, next.StartRound))
	c.lin = c.lin.Successor(c.dag)
	c.cutter = c.cutter.Successor(next.Committee, next.Number, next.StartRound)
	if c.lastOwnRound < next.StartRound {
		c.lastOwnRound = next.StartRound
	}
	c.included = make([]uint64, next.Committee.Size())
	c.ownOrdered = map[uint64]bool{}
	c.roundEntered, c.timedOut, c.minDelayArmedAt = 0, false, 0
	c.missing = map[types.Ref]int{}
	c.syncTarget, c.syncLaterEpoch = 0, false // rounds of the old epoch; a later one shows again
	c.pendingEvidence = nil                   // evidence names the old epoch; the new DAG refuses it
	c.epochChanges++
	c.relayNewEpoch()
	c.ownBarriers = nil
	if c.self >= 0 {
		// Their barriers stand; what was seen in the old DAG must be seen again in the new.
		c.pending.pushFront(unordered, barriers)
	} else if txs := append(unordered, c.pending.clear()...); len(txs) > 0 {
		c.emit(PayloadDeclined{Txs: txs})
	}
	if c.self < 0 {
		c.relay = relayState{} // a node outside the committee proposes nothing: no fallback to keep
	}
	buffered := c.future
	c.future, c.futureBytes = nil, 0
	sort.SliceStable(buffered, func(i, j int) bool {
		a, b := buffered[i].block, buffered[j].block
		if a.Epoch != b.Epoch {
			return a.Epoch < b.Epoch
		}
		if a.Round != b.Round {
			return a.Round < b.Round
		}
		return a.Author < b.Author
	})
	for _, f := range buffered {
		c.receive(f.from, f.block, false)
	}
}

// unorderedOwnTxs lists, in round order, the transactions of our blocks in the current
// epoch that no commit ordered.
func (c *Core) unorderedOwnTxs() ([][]byte, []uint64) {
	if c.self < 0 {
		return nil, nil
	}
	// Rounds at or below the DAG's GC round were put back when collected (requeue.go).
	return c.unorderedOwnTxsIn(max(c.dag.GCRound(), c.cfg.Epoch.StartRound), c.dag.HighestRound())
}

// otherEpoch handles a block that is not of the epoch we run: the next epoch's is held
// until we enter it (later ones are dropped: they are fetched again once needed); one of an earlier epoch tells us its sender has not finished that
// epoch yet, so we send it our last block there, whose history (fetched from us) holds the
// commits that closed the epoch. (A lagging node re-sends its latest block while it makes
// no progress, so this exchange repeats until it catches up.) Only broadcasts are answered,
// and the answer is a fetch response, so two nodes that both finished the epoch never
// answer each other's answers.
func (c *Core) otherEpoch(from int, b *types.Block, broadcast bool) {
	switch {
	case b.Epoch == c.cfg.Epoch.Number+1 || c.restoring && b.Epoch > c.cfg.Epoch.Number:
		// A replay holds every later epoch's stored blocks: dropping our own would let us
		// sign their rounds again.
		size := b.PayloadBytes()
		if !c.restoring && (len(c.future) >= maxFutureBlocks || c.futureBytes+size > maxFutureBytes) {
			return
		}
		c.future = append(c.future, futureBlock{from: from, block: b})
		c.futureBytes += size
	case broadcast && b.Epoch < c.cfg.Epoch.Number && from >= 0 && from != c.self:
		for _, p := range c.past {
			if p.number == b.Epoch && p.own != nil {
				c.emit(SendTo{Peer: from, Msg: wire.FetchResponseMessage([]*types.Block{p.own})})
			}
		}
	}
}

// lookupPast finds a block in the epochs we keep.
func (c *Core) lookupPast(r types.Ref) (*types.Block, bool) {
	for i := len(c.past) - 1; i >= 0; i-- {
		if b, ok := c.past[i].dag.Lookup(r); ok {
			return b, true
		}
	}
	return nil, false
}

// Epoch is the epoch the core runs now.
func (c *Core) Epoch() types.Epoch { return c.cfg.Epoch }

// Self is our author index in the current epoch's committee, -1 when we are not a member
// (we then follow the chain without proposing).
func (c *Core) Self() int { return c.self }
