package sim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/proxy"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/sim/check"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// chainID and genesis are the same in every run: only the seed varies.
const chainID = "tutti-sim"

var genesisTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options choose what a run does. Zero values are drawn from the seed (swarm mode).
type Options struct {
	Seed       uint64
	Validators int           // 0: drawn from {4, 7, 10}
	Powers     []int64       // validator powers; nil: drawn (equal, or unequal in 30 % of seeds)
	Duration   time.Duration // virtual time; 0: 60 s
	// Byzantine is the number of byzantine validators; -1 draws up to f by stake. More than
	// f is allowed, as a negative control that the checkers must flag.
	Byzantine int
	// Behaviours restricts the byzantine behaviours drawn (all when empty).
	Behaviours []string
	// Mutations plant protocol bugs in every honest core (checker validation).
	Mutations core.Mutations
	// Calm turns off crashes, partitions, loss and clock faults (a fault-free baseline).
	Calm bool
	// SlowApp makes the app of at least one instance slow for long enough that its
	// execution lags ordering by the lag limit (faults.go scheduleSlowApps).
	SlowApp bool
	// NoSendCheck turns off the driver's persist-before-send check (drive.Driver
	// SkipSendCheck), so the checkers must catch a core that sends first by its effects.
	NoSendCheck bool
	// GCDepth is every core's GC depth; 0 draws one per seed (gcDepths).
	GCDepth uint64
	// Trace, when set, receives every trace line.
	Trace io.Writer
	// App connects each instance to its app; nil runs CometBFT's kvstore in process, in
	// memory, so a crash loses the app's state and the restart replays it from the store.
	App AppFactory
	// Ledger runs the ledger workload (signed transfers between funded accounts, with the
	// supply checker) instead of kvstore transactions; App must then run the ledger.
	Ledger bool
	// QueryKVStore, at the end, reads every committed "key=value" transaction back through
	// each honest instance's Query connection (for kvstore apps).
	QueryKVStore bool
}

// AppFactory returns the client creator for one instance's app, and what to call when the
// instance crashes (nil if nothing). It is called at every start of the instance; an
// external app keeps its state across the node's crashes.
type AppFactory func(instance int) (proxy.ClientCreator, func() error, error)

// InMemoryKVStore is the default app: a fresh CometBFT kvstore at every start.
func InMemoryKVStore(int) (proxy.ClientCreator, func() error, error) {
	return proxy.NewLocalClientCreator(kvstore.NewInMemoryApplication()), nil, nil
}

// Result is what one run found.
type Result struct {
	Seed       uint64
	Validators int
	Powers     []int64
	Byzantine  []string // "author:behaviour"
	GCDepth    uint64
	TraceHash  [32]byte
	Stats      Stats
	Violations []check.Violation
	Heights    int64 // the lowest final height among honest instances that were up at the end
}

// Failed reports whether any checker found a violation.
func (r *Result) Failed() bool { return len(r.Violations) > 0 }

// Sim is one run in progress.
type Sim struct {
	opt       Options
	sched     *scheduler
	net       *network
	stats     Stats
	limits    wire.Limits
	powers    []int64
	committee *types.Committee
	keys      []*signer // one per validator; twins share theirs
	instances []*instance
	byzantine map[int]behaviour
	lies      map[int]time.Duration // per validator, how far its clock lies (drawLies)
	gcDepth   uint64                // drawn per seed from gcDepths
	mutations core.Mutations

	logs       map[int]*check.NodeLog // per honest instance
	acked      map[string]int         // tx -> instance that acknowledged it
	excused    map[string]bool        // acknowledged by an instance that crashed before proposing it
	submitted  map[string]bool
	hops       hopLog // the hopping client's transactions (faults.go)
	violations []check.Violation
	seenBlocks map[types.Slot]types.Digest // first signed block seen per slot of an honest author
	rngs       map[string]*rand.Rand
	verifier   *sharedVerifier

	appState    []byte // genesis app_state
	ledgerAccts []*ledgerAccount
	partition   func(from, to int) bool
	twinSide    []int // per instance, which twin it can talk to
}

func (s *Sim) rng(purpose string) *rand.Rand {
	if r, ok := s.rngs[purpose]; ok {
		return r
	}
	r := stream(s.opt.Seed, purpose)
	s.rngs[purpose] = r
	return r
}

func (s *Sim) violate(property, detail string) {
	s.sched.note("violation %s %s", property, detail)
	s.violations = append(s.violations, check.Violation{Property: property, Detail: detail})
}

func (s *Sim) honest(author int) bool {
	_, byz := s.byzantine[author]
	return !byz
}

// validatorSet is the genesis validator set in cometbft's form.
func (s *Sim) validatorSet() *cmttypes.ValidatorSet {
	vals := make([]*cmttypes.Validator, len(s.keys))
	for i, k := range s.keys {
		vals[i] = cmttypes.NewValidator(ed25519.PubKey(k.PubKey()), s.powers[i])
	}
	return cmttypes.NewValidatorSet(vals)
}

func (s *Sim) initChainRequest() *abci.RequestInitChain {
	params := cmttypes.DefaultConsensusParams().ToProto()
	return &abci.RequestInitChain{Time: genesisTime, ChainId: chainID, InitialHeight: 1,
		ConsensusParams: &params, AppStateBytes: s.appState,
		Validators: cmttypes.TM2PB.ValidatorUpdates(s.validatorSet())}
}

// gcDepths are the GC depths a seed draws from unless Options.GCDepth says otherwise:
// production's default (60), one a node falls behind within a short outage (20), and one
// above the longest outage injected.
var gcDepths = []uint64{20, 60, 60, 400}

func (s *Sim) coreConfig(initialAppHash []byte) core.Config {
	epoch := types.Epoch{Number: 0, StartRound: 1, GenesisTimeMs: genesisTime.UnixMilli(), Committee: s.committee}
	cfg := core.DefaultConfig(chainID, epoch)
	cfg.Cut.InitialAppHash = initialAppHash
	cfg.Cut.TargetIntervalMs = 100
	cfg.GCDepth = s.gcDepth
	cfg.Mutations = s.mutations
	return cfg
}

// committed records a height an instance executed and checks it against what every other
// honest instance executed at that height, as it happens.
func (s *Sim) committed(n *instance, b *order.ABCIBlock, appHash []byte) {
	s.sched.note("commit %d h=%d hash=%X app=%X txs=%d", n.id, b.Height, b.Hash[:6], appHash, len(b.Txs))
	if !s.honest(n.author) {
		return
	}
	log := s.logs[n.id]
	if log == nil {
		log = &check.NodeLog{Node: fmt.Sprintf("instance %d (validator %d)", n.id, n.author)}
		s.logs[n.id] = log
	}
	entry := check.Block{Height: b.Height, Hash: b.Hash, AppHash: appHash, Txs: b.Txs}
	if v := log.Append(entry); v != nil {
		s.violations = append(s.violations, *v)
	}
	if v := check.BlockTime(log.Node, b.Height, time.UnixMilli(b.TimeMs), s.honestClocks(), core.DefaultMaxForwardTimeDrift); v != nil {
		s.violations = append(s.violations, *v)
	}
	for _, tx := range b.Txs {
		if s.hops.commitEpoch != nil && strings.HasPrefix(string(tx), "hop") {
			if _, ok := s.hops.commitEpoch[string(tx)]; !ok {
				s.hops.commitEpoch[string(tx)] = b.Epoch
			}
		}
		if author, round, ok := otherForkOrdered(log, tx); ok {
			s.violate("S2", fmt.Sprintf("%s ordered both forks of validator %d's round %d (height %d)", log.Node, author, round, b.Height))
		}
		if !s.submitted[string(tx)] {
			s.violate("S7", fmt.Sprintf("%s committed tx %q nobody submitted at height %d", log.Node, tx, b.Height))
		}
	}
}

// honestClocks reads every honest instance's clock, up or not.
func (s *Sim) honestClocks() []time.Time {
	var out []time.Time
	for _, o := range s.instances {
		if s.honest(o.author) {
			out = append(out, o.now())
		}
	}
	return out
}

// halted records a core that stopped. A core that detects a safety violation itself (two
// certified blocks in one slot, or an app hash that differs from the one a quorum attested)
// is reported as "fork-detected": more than f byzantine stake, or a bug, made it happen.
// Any other halt of an honest core is a violation of its own.
func (s *Sim) halted(n *instance, reason string) {
	s.sched.note("halt %d %s", n.id, reason)
	if !s.honest(n.author) {
		return
	}
	property := "halt"
	if strings.HasPrefix(reason, "safety violated") || strings.HasPrefix(reason, "app hash fork") {
		property = "fork-detected"
	}
	s.violate(property, fmt.Sprintf("honest instance %d halted: %s", n.id, reason))
}

// heldElsewhere reports whether an honest instance other than n that is up holds tx in its
// mempool (relayed to it): it will propose it if n does not.
func (s *Sim) heldElsewhere(n *instance, tx []byte) bool {
	for _, o := range s.instances {
		if o != n && o.up && !o.halted && s.honest(o.author) && o.core.Self() >= 0 && o.pool.Has(tx) {
			return true
		}
	}
	return false
}

func (s *Sim) excuse(tx []byte) {
	if _, ok := s.acked[string(tx)]; ok {
		s.excused[string(tx)] = true
	}
}

// observe watches every block on the wire: an honest validator must never sign two
// blocks for one slot (the crash-safe signing rule, which persist-before-send protects).
func (s *Sim) observe(b *types.Block) {
	if b.Signature == nil || !s.honest(b.Author) || b.Round == 0 {
		return
	}
	if b.VerifySignature(chainID, s.committee, s.verifier) != nil {
		return
	}
	slot, d := b.Slot(), b.Digest()
	if first, ok := s.seenBlocks[slot]; !ok {
		s.seenBlocks[slot] = d
	} else if first != d {
		s.violate("S2", fmt.Sprintf("honest validator %d signed two blocks for round %d", b.Author, b.Round))
		s.seenBlocks[slot] = d // report each slot once per new digest only
	}
}

// sortedViolations orders violations for stable output.
func sortedViolations(v []check.Violation) []check.Violation {
	sort.SliceStable(v, func(i, j int) bool { return v[i].Property < v[j].Property })
	return v
}

func violationf(property, format string, args ...any) check.Violation {
	return check.Violation{Property: property, Detail: fmt.Sprintf(format, args...)}
}

// otherForkOrdered reports whether tx is a fork marker whose sibling fork's marker the log
// already holds: two blocks of one slot ordered.
func otherForkOrdered(log *check.NodeLog, tx []byte) (int, uint64, bool) {
	var author int
	var round uint64
	for _, pair := range [][2]string{{"a", "b"}, {"b", "a"}} {
		if _, err := fmt.Sscanf(string(tx), "fork-"+pair[0]+"-%d-%d=x", &author, &round); err == nil {
			return author, round, log.Has([]byte(forkMarker(pair[1], author, round)))
		}
	}
	return 0, 0, false
}
