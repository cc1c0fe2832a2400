package core

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tutti-bft/tutti/engine/commit"
	"github.com/tutti-bft/tutti/engine/dag"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// Core is one validator's protocol state machine.
type Core struct {
	cfg      Config
	self     int
	signer   types.Signer
	verifier types.Verifier

	dag       *dag.DAG
	committer *commit.Committer
	lin       *order.Linearizer
	cutter    *order.Cutter

	now time.Time
	out []Action

	// Proposal state.
	lastOwnRound    uint64
	resyncSeen      uint64 // lastOwnRound at the previous resync check
	lastProposalAt  time.Time
	roundEntered    uint64 // the round we are waiting to propose in
	timedOut        bool
	minDelayArmedAt uint64 // round for which a MinDelay timer is pending
	included        []uint64
	ownOrdered      map[uint64]bool // rounds of our blocks a commit ordered, above the GC round
	ordered         orderedTxs      // transactions ordered, not yet executed here (ordered.go)
	requeued        uint64          // transactions put back from our collected, unordered blocks
	pending         txQueue         // our next blocks' transactions (txqueue.go)
	relay           relayState
	ownBarriers     map[uint64][]uint64 // per round of our unordered blocks: each tx's relay barrier
	pendingEvidence []types.Equivocation
	attestation     *types.Attestation

	// Blocks stamped too far ahead of our clock, waiting for it (hold.go).
	held        []heldBlock
	holdTimerAt time.Time // the pending HoldRelease timer, zero when none
	heldBack    uint64

	// Fetching: refs we lack and how many peers we asked.
	missing         map[types.Ref]int
	missingAtResync map[types.Ref]bool // what was missing at the previous resync check

	// Catching up (sync.go): the highest round seen from a peer in our epoch, whether a
	// peer runs a later epoch, and the peer asked last.
	syncTarget        uint64
	syncLaterEpoch    bool
	syncPeer          int // -1: no request outstanding
	syncLastPeer      int
	syncAsked         time.Time
	syncEpoch         uint64
	syncRequests      uint64
	servedFromStorage uint64

	// ABCI bookkeeping.
	deliveredHash   map[int64][]byte       // height -> block hash, until we attest it
	executed        map[int64]resultHashes // height -> our hashes, until the quorum's are known
	quorumResult    map[int64]resultHashes // height -> hashes attested by quorum stake, until we executed it
	executedThrough int64                  // highest height the app executed
	suppressThrough int64                  // heights already delivered before a restart
	lastHeight      int64
	nextValidators  map[int64][]types.Validator // height -> set of height+2, as we executed it

	// Epochs: a pending change, the last epochs' DAGs (to answer peers finishing them),
	// and blocks of the next epoch that arrived early.
	change       *epochChange
	past         []pastEpoch
	future       []futureBlock
	futureBytes  int
	restoring    bool
	epochChanges uint64

	halted   bool
	skipped  uint64
	commits  uint64
	rejected uint64
}

// New builds a core for validator self at the start of cfg.Epoch.
func New(cfg Config, self int, signer types.Signer, verifier types.Verifier) (*Core, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if self < -1 || self >= cfg.Epoch.Committee.Size() {
		return nil, fmt.Errorf("self %d not in committee of %d (-1: a node that only follows)", self, cfg.Epoch.Committee.Size())
	}
	d := dag.New(dag.Config{ChainID: cfg.ChainID, Epoch: cfg.Epoch, Limits: cfg.Limits, Verifier: verifier})
	decide := cfg.Epoch.Committee
	if cfg.Mutations.WeakQuorum {
		decide = decide.WithWeakQuorum()
	}
	sched := commit.NewSchedule(cfg.Epoch.Committee, cfg.LeaderSlots, cfg.ReputationWindow, cfg.Epoch.StartRound)
	cutCfg := cfg.Cut
	// An equivocation is accepted only above the detector's GC round, the block carrying its
	// evidence is ordered above the leader's GC round: the ordering leader is at most about
	// two GC depths above the offence.
	cutCfg.InfractionRounds = 3 * cfg.GCDepth
	c := &Core{cfg: cfg, self: self, signer: signer, verifier: verifier, dag: d,
		committer: commit.New(d, decide, sched),
		lin: order.NewLinearizer(order.LinearizerConfig{GCDepth: cfg.GCDepth, DedupeRounds: cfg.DedupeRounds,
			NoSlotGuard: cfg.Mutations.NoSlotGuard}, d),
		cutter:       order.NewCutter(cutCfg, cfg.Epoch.Committee, cfg.Epoch.Number, cfg.Epoch.StartRound, cfg.Epoch.GenesisTimeMs),
		lastOwnRound: cfg.Epoch.StartRound, included: make([]uint64, cfg.Epoch.Committee.Size()), ownOrdered: map[uint64]bool{}, syncPeer: -1, syncLastPeer: -1,
		missing: map[types.Ref]int{}, deliveredHash: map[int64][]byte{}, executed: map[int64]resultHashes{},
		quorumResult: map[int64]resultHashes{}, nextValidators: map[int64][]types.Validator{}}
	return c, nil
}

// Stats are counters for metrics and tests.
type Stats struct {
	Round, GCRound, Commits, Skipped, Rejected uint64
	Epoch, EpochChanges                        uint64
	Requeued                                   uint64 // txs put back from our collected, unordered blocks
	SyncRequests, ServedFromStorage            uint64 // catching up: asked, and answered from storage
	HeldBack                                   uint64 // blocks held until our clock reached their time
	Height                                     int64
	Accepted, Suspended                        int
}

// Stats reports progress counters.
func (c *Core) Stats() Stats {
	a, s := c.dag.Size()
	return Stats{Round: c.lastOwnRound, GCRound: c.dag.GCRound(), Commits: c.commits, Skipped: c.skipped,
		Rejected: c.rejected, Height: c.lastHeight, Accepted: a, Suspended: s,
		Epoch: c.cfg.Epoch.Number, EpochChanges: c.epochChanges, Requeued: c.requeued,
		SyncRequests: c.syncRequests, ServedFromStorage: c.servedFromStorage, HeldBack: c.heldBack}
}

// LastOwnRound is the highest round this validator signed a block for, or will never sign
// (an epoch's start, a block of ours a peer showed us).
func (c *Core) LastOwnRound() uint64 { return c.lastOwnRound }

// Halted reports whether the core stopped on a fork or safety violation.
func (c *Core) Halted() bool { return c.halted }

// Step feeds one input at time now and returns the actions to run, in order.
func (c *Core) Step(now time.Time, in Input) []Action {
	if c.halted {
		return nil
	}
	c.now, c.out = now, nil
	c.releaseHeld()
	switch in := in.(type) {
	case BlockReceived:
		c.receive(in.From, in.Block, true)
	case BlocksFetched:
		highestBefore := c.dag.HighestRound()
		for _, b := range in.Blocks {
			c.receive(in.From, b, false)
		}
		c.syncAnswered(in.From, highestBefore)
	case FetchRequested:
		c.answerFetch(in.From, in.Refs)
	case SyncRequested:
		c.answerSync(in)
	case PayloadAvailable:
		c.offer(in.Txs, in.AfterRelayed)
	case TxsRelayed:
		c.relayed(in)
	case TimerFired:
		c.timer(in)
	case ExecutionResult:
		c.executedBlock(in)
	case Restart:
		c.restart()
	}
	c.progress()
	return c.out
}

func (c *Core) emit(a Action) { c.out = append(c.out, a) }

// progress runs the commit rule and the proposer until neither has more to do.
func (c *Core) progress() {
	for !c.halted {
		c.tryCommit()
		if c.halted || !c.tryPropose() {
			return
		}
	}
}

// receive validates and stores one block from a peer.
func (c *Core) receive(from int, b *types.Block, broadcast bool) {
	if b == nil {
		return
	}
	if b.Epoch != c.cfg.Epoch.Number {
		if b.Epoch > c.cfg.Epoch.Number {
			c.observePeerBlock(from, b)
		}
		c.otherEpoch(from, b, broadcast)
		return
	}
	if c.holdIfEarly(from, b, broadcast) {
		return
	}
	res, err := c.dag.Add(b)
	if err != nil {
		switch {
		case errors.Is(err, dag.ErrInvalid):
			c.rejected++
		case b.Round > c.dag.HighestRound() && c.dag.Authentic(b) == nil:
			// Too far above us to keep: we were away longer than the DAG looks ahead, and
			// only a sync brings us there.
			c.observePeerBlock(from, b)
		}
		return
	}
	c.observePeerBlock(from, b) // validated (signature included), so it cannot be forged
	if b.Author == c.self && b.Round > c.lastOwnRound {
		// A validly signed block of ours we do not remember: we lost our own history.
		// Never sign that round again (the signer's watermark also refuses). Checked only
		// after validation, so a forged block cannot silence us.
		c.lastOwnRound = b.Round
	}
	c.absorb(res, from)
}

// absorb turns a DAG result into actions: persist what was accepted, report evidence, and
// ask the sender for missing parents.
func (c *Core) absorb(res dag.Result, from int) {
	if len(res.Accepted) > 0 {
		c.emit(Persist{Blocks: res.Accepted})
		for _, b := range res.Accepted {
			delete(c.missing, b.Ref())
			c.relaySeen(b)
			if b.Author == c.self {
				c.markIncluded(b) // our own block, from storage or from a peer after we lost it
			}
		}
	}
	for _, e := range res.Equivocations {
		c.emit(ReportEvidence{Evidence: e})
		c.pendingEvidence = append(c.pendingEvidence, e)
	}
	c.rejected += uint64(len(res.Rejected))
	var ask []types.Ref
	for _, r := range res.Missing {
		if c.farAbove(r) {
			// The sync brings it bottom up; fetching it now would only hold the whole gap
			// in memory, top down, until the two meet. It is remembered, not yet asked
			// (count 0), and asked once we are near it if the sync has not brought it.
			if _, known := c.missing[r]; !known {
				c.missing[r] = 0
			}
			continue
		}
		if _, asked := c.missing[r]; !asked {
			c.missing[r] = 1
			ask = append(ask, r)
		}
	}
	if len(ask) > 0 && from >= 0 && from != c.self {
		c.emit(RequestBlocks{Peer: from, Refs: ask})
	}
}

// answerFetch returns the blocks we hold among those asked for; those below our GC round
// (or of an epoch we left) are looked up in storage.
func (c *Core) answerFetch(from int, refs []types.Ref) {
	var found []*types.Block
	var stored []types.Ref
	for _, r := range refs {
		b, ok := c.dag.Lookup(r)
		if !ok {
			b, ok = c.lookupPast(r) // a peer still finishing an earlier epoch
		}
		switch {
		case ok:
			found = append(found, b)
		case r.Round <= c.dag.GCRound() || r.Round <= c.cfg.Epoch.StartRound:
			stored = append(stored, r)
		}
		if len(found)+len(stored) == c.cfg.FetchBatch {
			break
		}
	}
	if len(found) > 0 {
		c.emit(SendTo{Peer: from, Msg: wire.FetchResponseMessage(found)})
	}
	if len(stored) > 0 && from >= 0 && from != c.self {
		c.servedFromStorage++
		c.emit(ServeStored{Peer: from, Epoch: c.epochOfRound(stored[0].Round), Refs: stored,
			MaxBlocks: c.cfg.FetchBatch, MaxPayloadBytes: c.cfg.Limits.MaxPayloadBytes})
	}
}

// offer queues mempool transactions for our next blocks, in arrival order.
func (c *Core) offer(txs [][]byte, barrier uint64) {
	if c.self < 0 {
		// Not a member of this epoch's committee: we propose nothing, so the mempool keeps
		// them (a full node's runtime forwards transactions to validators).
		c.emit(PayloadDeclined{Txs: txs})
		return
	}
	for i, tx := range txs {
		if len(tx) == 0 || len(tx) > c.cfg.Limits.MaxTxBytes || c.orderedHash(sha256.Sum256(tx)) {
			continue // an ordered one is offered until this node executes it (ordered.go)
		}
		if c.pending.bytes+len(tx) > c.cfg.MaxPendingTxBytes {
			c.emit(PayloadDeclined{Txs: txs[i:]})
			return
		}
		c.pending.pushBack(tx, barrier)
	}
}

// timer handles a fired timer; a leader timeout also re-asks other peers for blocks the
// first peer did not send.
func (c *Core) timer(t TimerFired) {
	if t.Kind == HoldRelease {
		c.holdTimerAt = time.Time{} // releaseHeld ran at the start of this step
		c.armHoldTimer()
		return
	}
	if t.Kind == Resync {
		c.resync()
		c.syncStalled()
		return
	}
	if t.Kind == LeaderTimeout && t.Round == c.roundEntered {
		c.timedOut = true
	}
	if t.Kind == LeaderTimeout {
		c.refetchMissing(nil)
	}
}

// sortRefs orders refs by (round, author, digest), so requests are deterministic.
func sortRefs(refs []types.Ref) {
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Round != refs[j].Round {
			return refs[i].Round < refs[j].Round
		}
		if refs[i].Author != refs[j].Author {
			return refs[i].Author < refs[j].Author
		}
		return string(refs[i].Digest[:]) < string(refs[j].Digest[:])
	})
}

// refetchMissing asks for every block we still miss (only those in older, when it is not
// nil), each time from the next peer in turn.
func (c *Core) refetchMissing(older map[types.Ref]bool) {
	if len(c.missing) == 0 {
		return
	}
	n := c.cfg.Epoch.Committee.Size()
	var refs []types.Ref
	for r := range c.missing {
		if r.Round <= c.dag.GCRound() || c.dag.Contains(r) {
			delete(c.missing, r)
			continue
		}
		if older != nil && !older[r] || c.farAbove(r) {
			continue
		}
		refs = append(refs, r)
	}
	sortRefs(refs)
	byPeer := map[int][]types.Ref{}
	var peers []int
	for _, r := range refs {
		c.missing[r]++
		peer := (r.Author + c.missing[r]) % n
		if peer == c.self {
			peer = (peer + 1) % n
		}
		if _, ok := byPeer[peer]; !ok {
			peers = append(peers, peer)
		}
		byPeer[peer] = append(byPeer[peer], r)
	}
	for _, p := range peers {
		c.emit(RequestBlocks{Peer: p, Refs: byPeer[p]})
	}
}

// restart re-sends our latest block (it was persisted, perhaps never sent) and re-arms the
// leader timer.
func (c *Core) restart() {
	if own := c.dag.Latest(c.self); own != nil && own.Round > c.cfg.Epoch.StartRound {
		c.sendOwn(own)
	}
	c.roundEntered = 0
	c.resyncSeen = c.lastOwnRound
	c.emit(SetTimer{Kind: Resync, At: c.now.Add(c.cfg.ResyncInterval)})
}
