package order

import (
	"github.com/tutti-bft/tutti/engine/types"
)

// CutConfig tunes where commits are cut into ABCI blocks.
type CutConfig struct {
	ChainID        string
	InitialHeight  int64  // first ABCI height; it needs no attestations
	InitialAppHash []byte // the app hash InitChain returned
	// MaxBytes caps a block's transaction bytes; transactions beyond it move to the next block.
	MaxBytes int64
	// TargetIntervalMs: a block with content closes once commit time has advanced this far
	// past the previous block's time, unless MaxBytes closed it sooner. 0 closes at once.
	TargetIntervalMs int64
	// MaxEmptyIntervalMs: a block without content closes only after this long.
	MaxEmptyIntervalMs int64
	// MinEpochRounds: an epoch ends at a validator-set change only once a block closes with
	// a leader at least this many rounds above the epoch's genesis round. An app that
	// changes powers every block then starts a new DAG every MinEpochRounds rounds, not
	// every block; meanwhile the set it returned signs ABCI heights (H+2, as in CometBFT)
	// while the old committee keeps ordering. Every node must use the same value.
	MinEpochRounds uint64
	// StragglerWaitMs: once a block could close, it waits until commit time has advanced
	// this far more for the attestations of validators that attested recently (rule (d)
	// in PROTOCOL.md §5), so a healthy validator whose attestation trails the quorum's by a
	// round or two is not listed ABSENT. Commit time, not rounds: rounds slow down to the
	// leader timeout while a validator is missing, and the wait must stay short then. 0
	// closes at once. Every node must use the same value.
	StragglerWaitMs int64
	// InfractionRounds is how many rounds below the latest ordering leader the cut
	// remembers which height ordered which round, to date an equivocation at the height it
	// happened (infraction.go); the core sets it from the GC depth. 0 means
	// DefaultInfractionRounds.
	InfractionRounds uint64
}

// QuorumResult is the execution outcome of one height attested by quorum stake.
type QuorumResult struct {
	Height  int64
	Result  types.Attestation
	Signers []int
}

// Cutter groups commits into ABCI blocks deterministically (engine/PROTOCOL.md §5).
type Cutter struct {
	cfg        CutConfig
	committee  *types.Committee
	epoch      uint64
	startRound uint64 // the epoch's genesis round
	// lastCommittee is the committee that could attest the height before the one being
	// built, which its DecidedLastCommit lists: the committee itself, except in an epoch's
	// first block. The executor maps it onto the app's validator set of that height.
	lastCommittee *types.Committee
	// ended: the last block closed had a quorum attest a validator set for the height after
	// it other than this committee, so this epoch orders nothing more.
	ended      bool
	endingHash []byte

	height        int64 // the height being built
	lastTimeMs    int64
	lastBlockHash []byte

	commits     []Commit
	pendingTxs  [][]byte // ordered, not yet in a delivered block
	pendingSize int64
	pendingMis  []Misbehavior
	closed      []closedHeight                       // recent heights and the rounds they ordered (infraction.go)
	attestation map[int64]map[int]*types.Attestation // height -> author -> first one ordered

	// Waiting for stragglers (rule (d)), by validator public key so it carries across
	// epochs: the highest height each validator attested in the ordered history (late
	// ones too), the validators the last block waited for in vain, and the leader round
	// at which the open block could first have closed.
	attestedHeight map[string]int64
	missed         map[string]bool
	ready          bool
	readyTimeMs    int64
}

// NewCutter starts cutting at cfg.InitialHeight.
func NewCutter(cfg CutConfig, committee *types.Committee, epoch, startRound uint64, genesisTimeMs int64) *Cutter {
	if cfg.InitialHeight <= 0 {
		cfg.InitialHeight = 1
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 4 << 20
	}
	return &Cutter{cfg: cfg, committee: committee, lastCommittee: committee, epoch: epoch, startRound: startRound,
		height:     cfg.InitialHeight,
		lastTimeMs: genesisTimeMs, attestation: map[int64]map[int]*types.Attestation{},
		attestedHeight: map[string]int64{}, missed: map[string]bool{}}
}

// Successor continues the chain in the next epoch, cut from the new committee's DAG: the
// heights, time and hash chain go on, transactions ordered but carried past MaxBytes stay
// first in line, and the next block's DecidedLastCommit lists this epoch's committee.
func (c *Cutter) Successor(committee *types.Committee, epoch, startRound uint64) *Cutter {
	return &Cutter{cfg: c.cfg, committee: committee, lastCommittee: c.committee, epoch: epoch, startRound: startRound,
		height: c.height, lastTimeMs: c.lastTimeMs, lastBlockHash: c.lastBlockHash,
		pendingTxs: c.pendingTxs, pendingSize: c.pendingSize, closed: c.closed,
		attestation:    map[int64]map[int]*types.Attestation{},
		attestedHeight: c.attestedHeight, missed: c.missed}
}

// EpochEnd reports whether the last block cut ended the epoch, with the validator-set hash
// the quorum attested for the next epoch.
func (c *Cutter) EpochEnd() (nextValidatorsHash []byte, ended bool) { return c.endingHash, c.ended }

// NextHeight is the height the next delivered block will have.
func (c *Cutter) NextHeight() int64 { return c.height }

// Add appends one commit and returns the ABCI blocks it closes (zero or one).
func (c *Cutter) Add(cm Commit) []ABCIBlock {
	if c.ended {
		return nil // commits after the one that ended the epoch are never ordered
	}
	c.commits = append(c.commits, cm)
	c.pendingTxs = append(c.pendingTxs, cm.Txs...)
	c.pendingSize += int64(cm.TxBytes)
	for _, e := range cm.Evidence {
		if e.Author < 0 || e.Author >= c.committee.Size() {
			continue
		}
		c.pendingMis = append(c.pendingMis, Misbehavior{Kind: DuplicateVote, ValidatorIndex: e.Author,
			PubKey: c.committee.Validators[e.Author].PubKey, Power: c.committee.Power(e.Author),
			Epoch: e.Epoch, Round: e.Round})
	}
	for _, a := range cm.Attestations {
		h := a.Attestation.Height
		if a.Attestation.ChainID == c.cfg.ChainID && a.Author >= 0 && a.Author < c.committee.Size() {
			pk := string(c.committee.Validators[a.Author].PubKey)
			c.attestedHeight[pk] = max(c.attestedHeight[pk], h)
		}
		if h != c.height-1 || a.Attestation.ChainID != c.cfg.ChainID || string(a.Attestation.BlockHash) != string(c.lastBlockHash) {
			// Stale, not possible yet, foreign, or for a block we did not deliver: no cut
			// needs it, and it must not hide the author's valid attestation.
			continue
		}
		byAuthor := c.attestation[h]
		if byAuthor == nil {
			byAuthor = map[int]*types.Attestation{}
			c.attestation[h] = byAuthor
		}
		if _, dup := byAuthor[a.Author]; !dup {
			byAuthor[a.Author] = a.Attestation
		}
	}
	if !c.readyToClose(cm) {
		return nil
	}
	return []ABCIBlock{c.close()}
}

func (c *Cutter) readyToClose(last Commit) bool {
	elapsed := last.TimeMs - c.lastTimeMs
	hasContent := len(c.pendingTxs) > 0 || len(c.pendingMis) > 0
	if !hasContent && elapsed < c.cfg.MaxEmptyIntervalMs {
		return false
	}
	if c.pendingSize < c.cfg.MaxBytes && elapsed < c.cfg.TargetIntervalMs {
		return false
	}
	if c.height == c.cfg.InitialHeight {
		return true
	}
	q, ok := c.Quorum(c.height - 1)
	if !ok {
		return false
	}
	if c.cfg.StragglerWaitMs == 0 {
		return true
	}
	if !c.ready {
		c.ready, c.readyTimeMs = true, last.TimeMs
	}
	return last.TimeMs >= c.readyTimeMs+c.cfg.StragglerWaitMs || len(c.stragglers(q)) == 0
}

// stragglers lists the committee members the open block still waits for: those expected
// to attest the height before it whose attestation of that height, agreeing with the
// quorum's, is not ordered yet. Expected are the validators that attested the height
// before that one (in time or late), or everyone when that is the first height, except
// those the previous block already waited for in vain: a validator that stopped (or one
// that keeps attesting just too late) delays one block, not every block.
func (c *Cutter) stragglers(q QuorumResult) []int {
	signed := make(map[int]bool, len(q.Signers))
	for _, a := range q.Signers {
		signed[a] = true
	}
	var out []int
	for a, v := range c.committee.Validators {
		if !signed[a] && c.expected(string(v.PubKey)) {
			out = append(out, a)
		}
	}
	return out
}

func (c *Cutter) expected(pubKey string) bool {
	if c.missed[pubKey] {
		return false
	}
	return c.height-1 == c.cfg.InitialHeight || c.attestedHeight[pubKey] >= c.height-2
}

// Quorum returns the outcome of height h that quorum stake attested for the block we
// delivered at h, if the ordered history holds one.
func (c *Cutter) Quorum(h int64) (QuorumResult, bool) {
	byAuthor := c.attestation[h]
	if len(byAuthor) == 0 {
		return QuorumResult{}, false
	}
	// Group identical outcomes; authors iterate in index order for a deterministic result.
	type group struct {
		att   *types.Attestation
		tally *types.Tally
		who   []int
	}
	var groups []*group
	for a := 0; a < c.committee.Size(); a++ {
		att, ok := byAuthor[a]
		if !ok {
			continue
		}
		var g *group
		for _, cand := range groups {
			if cand.att.SameResult(att) {
				g = cand
				break
			}
		}
		if g == nil {
			g = &group{att: att, tally: c.committee.NewTally()}
			groups = append(groups, g)
		}
		g.tally.Add(a)
		g.who = append(g.who, a)
	}
	for _, g := range groups {
		if g.tally.Quorum() {
			return QuorumResult{Height: h, Result: *g.att, Signers: g.who}, true
		}
	}
	return QuorumResult{}, false
}

// close builds the block from the open commits and starts the next one.
func (c *Cutter) close() ABCIBlock {
	last := c.commits[len(c.commits)-1]
	b := ABCIBlock{Height: c.height, TimeMs: last.TimeMs, ProposerIndex: last.Leader.Author,
		ProposerPubKey: c.committee.Validators[last.Leader.Author].PubKey,
		LastBlockHash:  c.lastBlockHash, Epoch: c.epoch,
		FirstCommit: c.commits[0].Index, LastCommit: last.Index}
	var size int64
	cutAt := len(c.pendingTxs)
	for i, tx := range c.pendingTxs {
		if size+int64(len(tx)) > c.cfg.MaxBytes && i > 0 {
			cutAt = i
			break
		}
		size += int64(len(tx))
	}
	b.Txs = c.pendingTxs[:cutAt:cutAt]
	c.pendingTxs = append([][]byte(nil), c.pendingTxs[cutAt:]...)
	c.pendingSize -= size
	c.remember(b.Height, b.TimeMs, last.Leader)
	b.Misbehavior = c.pendingMis
	for i := range b.Misbehavior {
		m := &b.Misbehavior[i]
		m.Height, m.TimeMs = c.infraction(m.Epoch, m.Round)
	}
	c.pendingMis = nil
	if c.height == c.cfg.InitialHeight {
		// The set of the next height is the genesis committee: updates returned at the
		// initial height take effect two heights later.
		b.AppHash, b.NextValidatorsHash = c.cfg.InitialAppHash, c.committee.Hash()
	} else {
		q, _ := c.Quorum(c.height - 1)
		b.AppHash, b.LastResultsHash, b.NextValidatorsHash = q.Result.AppHash, q.Result.ResultsHash, q.Result.NextValidatorsHash
		// Signers are authors of this epoch's committee; the list is the set of K-1, which
		// differs in an epoch's first block, so they are matched by key.
		signed := make(map[string]bool, len(q.Signers))
		for _, a := range q.Signers {
			signed[string(c.committee.Validators[a].PubKey)] = true
		}
		b.DecidedLastCommit = make([]CommitVote, c.lastCommittee.Size())
		for i, v := range c.lastCommittee.Validators {
			b.DecidedLastCommit[i] = CommitVote{ValidatorIndex: i, PubKey: v.PubKey, Power: v.Power, Signed: signed[string(v.PubKey)]}
		}
		missed := map[string]bool{}
		if c.cfg.StragglerWaitMs > 0 {
			for _, a := range c.stragglers(q) {
				missed[string(c.committee.Validators[a].PubKey)] = true
			}
		}
		c.missed = missed
		if string(q.Result.NextValidatorsHash) != string(c.committee.Hash()) && last.Leader.Round >= c.startRound+c.cfg.MinEpochRounds {
			// The set of K+1 differs from this committee (updates take effect at H+2) and
			// the epoch is old enough: K is this epoch's last block and K+1 is ordered by
			// the new committee's DAG, whose committee is exactly the set of K+1.
			b.EndsEpoch = true
			c.ended, c.endingHash = true, q.Result.NextValidatorsHash
		}
	}
	c.lastCommittee = c.committee
	c.ready = false
	for pk, h := range c.attestedHeight {
		if h < c.height-1 {
			delete(c.attestedHeight, pk) // too old to make anyone expected again
		}
	}
	b.Hash = b.computeHash(c.cfg.ChainID)
	delete(c.attestation, c.height-1)
	c.height++
	c.lastTimeMs = b.TimeMs
	c.lastBlockHash = b.Hash
	c.commits = c.commits[:0]
	return b
}
