package core_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	. "github.com/tutti-bft/tutti/engine/core"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/drive"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// cluster runs n cores in one process with a trivial deterministic network: every message
// goes through wire.Encode/Decode, is delayed by a seeded latency, and arrives in order of
// (time, sequence). A tiny app hashes each delivered block to produce app hashes. Each core
// is driven by the runtime's driver (engine/drive), as a node and the simulator drive it:
// the cluster is its host.
type cluster struct {
	t       testing.TB
	n       int
	cores   []*Core
	drivers []*drive.Driver
	signers []*types.MemSigner
	now     time.Time
	rng     *rand.Rand
	seq     uint64
	inbox   []envelope
	timers  []map[TimerKind]SetTimer
	pending [][]ExecutionResult
	// execDelay[i] is how long node i's app takes per height: its results come back that
	// much later (unset: at the next tick).
	execDelay map[int]time.Duration
	resultAt  [][]time.Time
	blocks    [][]order.ABCIBlock
	appHash   [][]byte
	crashed   map[int]bool
	equiv     map[int]bool
	stored    map[int][]*types.Block // per node, every block it persisted (what ServeStored reads)
	txSeq     int
	// The app's validator sets, per node: [0] is the set of the next height to execute,
	// [1] the one after; updates[h] is what the app returns at height h (effective at h+2).
	sets    [][2][]types.Validator
	updates map[int64][]ValidatorUpdate

	observe        func(node int, a Action)                // sees each Persist, Broadcast and DeliverABCIBlock as the driver carries it out
	broadcast      func(node int, b *types.Block) bool     // sends b itself when it returns true
	drop           func(from, to int, m wire.Message) bool // nil: the network loses nothing
	onHalt         func(node int, reason string)           // nil: a halt fails the test
	corruptApp     int                                     // node whose app hashes differ (-1: none)
	corruptResults int                                     // node whose results hashes differ (-1: none)
	// holdResults[i]: node i's app returns nothing for now (its execution lags the cut);
	// what it executed meanwhile comes back once released.
	holdResults map[int]bool
	// skew[i] is how far node i's clock is from the cluster's (every input it gets and
	// every timer it sets is read on its own clock).
	skew map[int]time.Duration
	// skipSendCheck turns the driver's persist-before-send check off (for a test that
	// counts what a mutated core does instead).
	skipSendCheck bool
}

// clusterLag is the drivers' executor lag limit (the node's): the cluster's app takes
// every block at once, so it is never reached.
const clusterLag = 64

// setCore makes c node i's core (i == len(cl.cores) adds it), driven by a new driver that
// first carries out restored, the actions core.Restore returned.
func (cl *cluster) setCore(i int, c *Core, restored []Action) {
	d := drive.New(c, clusterHost{cl, i}, clusterLag)
	d.SkipSendCheck = cl.skipSendCheck
	if i == len(cl.cores) {
		cl.cores, cl.drivers = append(cl.cores, c), append(cl.drivers, d)
	} else {
		cl.cores[i], cl.drivers[i] = c, d
	}
	d.Start(restored)
	cl.execute(i)
}

type envelope struct {
	at   time.Time
	seq  uint64
	from int
	to   int
	data []byte
}

func testCommittee(t testing.TB, powers []int64) (*types.Committee, []*types.MemSigner) {
	signers := make([]*types.MemSigner, len(powers))
	vals := make([]types.Validator, len(powers))
	for i, p := range powers {
		signers[i] = types.NewMemSigner([]byte(fmt.Sprintf("validator-%d", i)))
		vals[i] = types.Validator{PubKey: signers[i].PubKey(), Power: p}
	}
	c, err := types.NewCommittee(vals)
	if err != nil {
		t.Fatal(err)
	}
	return c, signers
}

func testConfig(c *types.Committee) Config {
	cfg := DefaultConfig("test-chain", types.Epoch{Number: 1, StartRound: 10, GenesisTimeMs: 1_700_000_000_000, Committee: c})
	cfg.LeaderTimeout = 200 * time.Millisecond
	cfg.MinRoundDelay = 20 * time.Millisecond
	cfg.GCDepth = 20
	cfg.ReputationWindow = 12
	cfg.Cut.MaxEmptyIntervalMs = 500
	// Epochs end at the first block after an update (the tests pin those heights); the
	// minimum epoch length has its own cases in testdata/epochs.
	cfg.Cut.MinEpochRounds = 0
	return cfg
}

func newCluster(t testing.TB, n int, seed uint64, mutate func(*Config)) *cluster {
	powers := make([]int64, n)
	for i := range powers {
		powers[i] = 1
	}
	return newWeightedCluster(t, powers, seed, mutate)
}

func newWeightedCluster(t testing.TB, powers []int64, seed uint64, mutate func(*Config)) *cluster {
	n := len(powers)
	com, signers := testCommittee(t, powers)
	cl := &cluster{t: t, n: n, signers: signers, now: time.UnixMilli(1_700_000_000_000),
		rng: rand.New(rand.NewPCG(seed, 7)), timers: make([]map[TimerKind]SetTimer, n),
		pending: make([][]ExecutionResult, n), resultAt: make([][]time.Time, n), execDelay: map[int]time.Duration{}, blocks: make([][]order.ABCIBlock, n),
		appHash: make([][]byte, n), crashed: map[int]bool{}, equiv: map[int]bool{}, corruptApp: -1,
		corruptResults: -1, holdResults: map[int]bool{}, skew: map[int]time.Duration{}}
	cl.initSets(com.Validators)
	for i := 0; i < n; i++ {
		cfg := testConfig(com)
		if mutate != nil {
			mutate(&cfg)
		}
		c, err := New(cfg, i, signers[i], types.Ed25519Verifier{})
		if err != nil {
			t.Fatal(err)
		}
		cl.timers[i] = map[TimerKind]SetTimer{}
		cl.setCore(i, c, nil)
	}
	return cl
}

// initSets starts every node's app with the genesis set for heights 1 and 2.
func (cl *cluster) initSets(genesis []types.Validator) {
	cl.sets = make([][2][]types.Validator, cl.n)
	for i := range cl.sets {
		cl.sets[i] = [2][]types.Validator{genesis, genesis}
	}
	cl.updates = map[int64][]ValidatorUpdate{}
}

// applyUpdates is what an app's validator updates do to a set: power 0 removes, any other
// power sets or adds.
func applyUpdates(set []types.Validator, updates []ValidatorUpdate) []types.Validator {
	out := append([]types.Validator(nil), set...)
	for _, u := range updates {
		found := false
		for i := range out {
			if bytes.Equal(out[i].PubKey, u.PubKey) {
				out[i].Power, found = u.Power, true
			}
		}
		if !found {
			out = append(out, types.Validator{PubKey: u.PubKey, Power: u.Power})
		}
	}
	kept := out[:0]
	for _, v := range out {
		if v.Power > 0 {
			kept = append(kept, v)
		}
	}
	return kept
}

func (cl *cluster) send(from, to int, m wire.Message) {
	if cl.crashed[from] || from == to || cl.drop != nil && cl.drop(from, to, m) {
		return
	}
	bz, err := wire.Encode(m)
	if err != nil {
		cl.t.Fatalf("encode: %v", err)
	}
	lat := time.Duration(5+cl.rng.IntN(20)) * time.Millisecond
	cl.seq++
	cl.inbox = append(cl.inbox, envelope{at: cl.now.Add(lat), seq: cl.seq, from: from, to: to, data: bz})
}

// step feeds node i one input through its driver and executes what it cut. A crashed node
// takes nothing; a stopped one (halted) neither, as a node's loop stops feeding it.
func (cl *cluster) step(i int, in Input) {
	if cl.crashed[i] || !cl.drivers[i].Ready() {
		return
	}
	cl.drivers[i].Step(cl.clock(i), in)
	cl.execute(i)
}

// execute hands node i's app every ABCI block its driver holds.
func (cl *cluster) execute(i int) {
	d := cl.drivers[i]
	for {
		b, ok := d.Next()
		if !ok {
			return
		}
		d.Taken()
		cl.deliver(i, b)
	}
}

// clusterHost is node i's side of the driver: the cluster's network, storage and timers.
type clusterHost struct {
	cl *cluster
	i  int
}

func (h clusterHost) Persist(p Persist) (bool, error) {
	cl := h.cl
	if cl.observe != nil {
		cl.observe(h.i, p)
	}
	if cl.stored == nil {
		cl.stored = map[int][]*types.Block{}
	}
	cl.stored[h.i] = append(cl.stored[h.i], p.Blocks...)
	return false, nil
}

func (h clusterHost) Broadcast(b *types.Block) {
	cl, i := h.cl, h.i
	if cl.observe != nil {
		cl.observe(i, Broadcast{Block: b})
	}
	if cl.broadcast != nil && cl.broadcast(i, b) {
		return
	}
	if cl.equiv[i] {
		cl.equivocate(i, b)
		return
	}
	for j := 0; j < cl.n; j++ {
		cl.send(i, j, wire.BlockMessage(b))
	}
}

func (h clusterHost) Send(peer int, m wire.Message) { h.cl.send(h.i, peer, m) }

func (h clusterHost) ServeStored(s ServeStored) {
	if blocks := s.Select(h.cl.stored[h.i]); len(blocks) > 0 {
		h.cl.send(h.i, s.Peer, wire.FetchResponseMessage(blocks))
	}
}

func (h clusterHost) SetTimer(t SetTimer)         { h.cl.timers[h.i][t.Kind] = t }
func (h clusterHost) Evidence(types.Equivocation) {}
func (h clusterHost) Declined([][]byte)           {}

func (h clusterHost) Halted(reason string) {
	if h.cl.onHalt == nil {
		h.cl.t.Fatalf("node %d halted: %s", h.i, reason)
	}
	h.cl.onHalt(h.i, reason)
}

func (h clusterHost) Failed(err error) { h.cl.t.Fatalf("node %d: driver stopped: %v", h.i, err) }

// deliver is node i's app executing one block: a hash chain over the heights' transactions
// as its app hash, its validator sets moved on by the scripted updates, and the result
// handed back after the node's execution delay.
func (cl *cluster) deliver(i int, b order.ABCIBlock) {
	if cl.observe != nil {
		cl.observe(i, DeliverABCIBlock{Block: b})
	}
	cl.blocks[i] = append(cl.blocks[i], b)
	h := sha256.New()
	h.Write(cl.appHash[i])
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(b.Height)))
	for _, tx := range b.Txs {
		h.Write(tx)
	}
	if i == cl.corruptApp {
		h.Write([]byte("nondeterminism"))
	}
	cl.appHash[i] = h.Sum(nil)
	after := applyUpdates(cl.sets[i][1], cl.updates[b.Height])
	cl.sets[i] = [2][]types.Validator{cl.sets[i][1], after}
	done := cl.now.Add(cl.execDelay[i])
	if n := len(cl.resultAt[i]); n > 0 && cl.resultAt[i][n-1].After(cl.now) {
		done = cl.resultAt[i][n-1].Add(cl.execDelay[i]) // the app executes one height at a time
	}
	cl.resultAt[i] = append(cl.resultAt[i], done)
	var results []byte
	if i == cl.corruptResults {
		results = []byte("different results")
	}
	cl.pending[i] = append(cl.pending[i], ExecutionResult{Height: b.Height, AppHash: cl.appHash[i], ResultsHash: results,
		NextValidatorsHash: types.ValidatorSetHash(after), NextValidators: after,
		ValidatorUpdates: cl.updates[b.Height]})
}

// equivocate sends the honest block to the lower half and a conflicting twin, signed
// again past the signer's watermark, to the upper half.
func (cl *cluster) equivocate(i int, b *types.Block) {
	twin := &types.Block{Epoch: b.Epoch, Round: b.Round, Author: b.Author, TimeMs: b.TimeMs + 1,
		Parents: b.Parents, Txs: b.Txs, Attestation: b.Attestation}
	twin.Signature = cl.signers[i].SignAnyway(types.SignBytes("test-chain", twin.Round, twin.Digest()))
	for j := 0; j < cl.n; j++ {
		if j < cl.n/2 {
			cl.send(i, j, wire.BlockMessage(b))
		} else {
			cl.send(i, j, wire.BlockMessage(twin))
		}
	}
}

// clock is node i's clock reading.
func (cl *cluster) clock(i int) time.Time { return cl.now.Add(cl.skew[i]) }

// tick advances virtual time by 5ms, delivering due messages, timers and execution results.
func (cl *cluster) tick() {
	cl.now = cl.now.Add(5 * time.Millisecond)
	for i := 0; i < cl.n; i++ {
		for len(cl.pending[i]) > 0 && !cl.resultAt[i][0].After(cl.now) && !cl.holdResults[i] {
			r := cl.pending[i][0]
			cl.pending[i], cl.resultAt[i] = cl.pending[i][1:], cl.resultAt[i][1:]
			cl.step(i, r)
		}
		for k, tm := range cl.timers[i] {
			if !tm.At.After(cl.clock(i)) {
				delete(cl.timers[i], k)
				cl.step(i, TimerFired{Kind: tm.Kind, Round: tm.Round})
			}
		}
	}
	var later []envelope
	due := cl.inbox
	cl.inbox = nil
	for _, e := range due {
		if e.at.After(cl.now) {
			later = append(later, e)
			continue
		}
		m, err := wire.Decode(e.data, wire.DefaultLimits())
		if err != nil {
			cl.t.Fatalf("decode: %v", err)
		}
		switch {
		case m.Block != nil:
			cl.step(e.to, BlockReceived{From: e.from, Block: m.Block})
		case m.IsFetchRequest():
			cl.step(e.to, FetchRequested{From: e.from, Refs: m.FetchRequest})
		case m.Sync != nil:
			cl.step(e.to, SyncRequested{From: e.from, Epoch: m.Sync.Epoch, Highest: m.Sync.Highest})
		case m.IsFetchResponse():
			cl.step(e.to, BlocksFetched{From: e.from, Blocks: m.FetchResponse})
		}
	}
	cl.inbox = append(later, cl.inbox...)
}

func (cl *cluster) offerTxs(perNode int) {
	for i := 0; i < cl.n; i++ {
		var txs [][]byte
		for k := 0; k < perNode; k++ {
			cl.txSeq++
			txs = append(txs, []byte(fmt.Sprintf("tx-%d-from-%d", cl.txSeq, i)))
		}
		cl.step(i, PayloadAvailable{Txs: txs})
	}
}

func (cl *cluster) run0(d time.Duration) {
	for i := 0; i < cl.n; i++ {
		cl.step(i, Restart{})
	}
	for end := cl.now.Add(d); cl.now.Before(end); {
		if cl.now.UnixMilli()%50 == 0 {
			cl.offerTxs(3)
		}
		cl.tick()
	}
}

// checkAgreement: every honest node's delivered chain is a prefix of the longest one,
// block by block with identical hashes, and each reached at least minHeight.
func (cl *cluster) checkAgreement(minHeight int64) {
	cl.t.Helper()
	var longest []order.ABCIBlock
	for i := 0; i < cl.n; i++ {
		if !cl.honest(i) {
			continue
		}
		if len(cl.blocks[i]) > len(longest) {
			longest = cl.blocks[i]
		}
	}
	for i := 0; i < cl.n; i++ {
		if !cl.honest(i) {
			continue
		}
		got := cl.blocks[i]
		if int64(len(got)) < minHeight {
			cl.t.Errorf("node %d delivered %d blocks, want at least %d", i, len(got), minHeight)
		}
		for h, b := range got {
			if !bytes.Equal(b.Hash, longest[h].Hash) {
				cl.t.Fatalf("node %d height %d hash %x differs from %x", i, b.Height, b.Hash, longest[h].Hash)
			}
			if b.Height != int64(h+1) {
				cl.t.Fatalf("node %d: block %d has height %d", i, h, b.Height)
			}
		}
	}
	// Every transaction is delivered at most once (the test txs are all distinct).
	seen := map[string]int64{}
	for _, b := range longest {
		for _, tx := range b.Txs {
			if prev, dup := seen[string(tx)]; dup {
				cl.t.Fatalf("tx %q delivered at heights %d and %d", tx, prev, b.Height)
			}
			seen[string(tx)] = b.Height
		}
	}
}

func (cl *cluster) honest(i int) bool { return !cl.crashed[i] && !cl.equiv[i] }

func TestClusterOf4Agrees(t *testing.T) {
	cl := newCluster(t, 4, 1, nil)
	cl.run0(3 * time.Second)
	cl.checkAgreement(10)
	txs := 0
	for _, b := range cl.blocks[0] {
		txs += len(b.Txs)
	}
	if txs == 0 {
		t.Fatal("no transactions were delivered")
	}
}

func TestClusterOf7Agrees(t *testing.T) {
	cl := newCluster(t, 7, 2, nil)
	cl.run0(2 * time.Second)
	cl.checkAgreement(5)
}

func TestClusterSurvivesCrashedValidator(t *testing.T) {
	cl := newCluster(t, 4, 3, nil)
	cl.crashed[3] = true
	cl.run0(4 * time.Second)
	cl.checkAgreement(8)
	s := cl.cores[0].Stats()
	if s.Skipped == 0 {
		t.Errorf("expected the crashed validator's slots to be skipped, stats %+v", s)
	}
	// Without reputation every round waits a 200ms leader timeout for the crashed leader
	// (about 20 rounds in 4s); once demoted, nobody waits for it.
	if s.Round < 10+60 {
		t.Errorf("only reached round %d: the crashed leader was not demoted", s.Round)
	}
}

func TestClusterEquivocatorDoesNotBreakAgreement(t *testing.T) {
	cl := newCluster(t, 4, 4, nil)
	cl.equiv[3] = true
	cl.run0(4 * time.Second)
	cl.checkAgreement(8)
	// The equivocation must be reported to the app through an ordered evidence item.
	found := false
	for _, b := range cl.blocks[0] {
		for _, m := range b.Misbehavior {
			if m.ValidatorIndex == 3 && m.Kind == order.DuplicateVote {
				found = true
			}
		}
	}
	if !found {
		t.Error("no DUPLICATE_VOTE misbehavior for the equivocator was delivered")
	}
}

// absentees counts the ABSENT votes in node i's DecidedLastCommits.
func (cl *cluster) absentees(i int) (absent, votes int) {
	for _, b := range cl.blocks[i] {
		for _, v := range b.DecidedLastCommit {
			votes++
			if !v.Signed {
				absent++
			}
		}
	}
	return absent, votes
}

// In a healthy network no validator is listed ABSENT, even one whose app is slow: validator
// 3 executes every height 40 ms after the others, so its attestation trails the quorum's,
// and the cut waits for it (rule (d)). Without the wait the same run lists it absent,
// which is what the Cosmos SDK's slashing module counts as missed blocks.
func TestHealthyClusterListsNoAbsentee(t *testing.T) {
	run := func(waitMs int64) (absent, votes, heights int) {
		cl := newCluster(t, 4, 11, func(c *Config) {
			c.Cut.StragglerWaitMs = waitMs
			c.Cut.TargetIntervalMs = 50
		})
		cl.execDelay[3] = 40 * time.Millisecond
		for i := 0; i < cl.n; i++ {
			cl.step(i, Restart{})
		}
		var txs []string
		cl.runFor(20*time.Second, 1, true, &txs)
		cl.checkAgreement(50)
		absent, votes = cl.absentees(0)
		return absent, votes, len(cl.blocks[0])
	}
	absent, votes, heights := run(DefaultStragglerWait.Milliseconds())
	t.Logf("straggler wait %v: %d heights, %d of %d votes absent", DefaultStragglerWait, heights, absent, votes)
	if absent != 0 {
		t.Fatalf("%d of %d votes ABSENT in a healthy network", absent, votes)
	}
	absent, votes, heights = run(0)
	t.Logf("no straggler wait: %d heights, %d of %d votes absent", heights, absent, votes)
	if absent == 0 {
		t.Fatal("without the straggler wait the slow validator was never absent: the test does not exercise the rule")
	}
}
