package sim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	abcicli "github.com/cometbft/cometbft/abci/client"
	"github.com/cometbft/cometbft/abci/server"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/libs/service"
	"github.com/cometbft/cometbft/proxy"
	e2eapp "github.com/cometbft/cometbft/test/e2e/app"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/abci/grammar"
)

// e2eAppEnv, when set, makes this test binary serve CometBFT's e2e app instead of running
// tests: its value is the path of an e2eAppSpec. (CometBFT's own launcher of the app,
// test/e2e/node, cannot be built from this module offline: it also links CometBFT's full
// node, libp2p, viper and lib/pq, which this module does not require, so they are in
// neither its go.sum nor the module cache. This launcher does what that one does with
// protocol = "socket": app.NewApplication, then abci/server.NewServer, logger unset.)
const e2eAppEnv = "TUTTI_SIM_E2E_APP"

// e2eAppSpec is what one e2e app process serves.
type e2eAppSpec struct {
	Listen string
	App    e2eapp.Config
}

func TestMain(m *testing.M) {
	if path := os.Getenv(e2eAppEnv); path != "" {
		serveE2EApp(path)
	}
	os.Exit(m.Run())
}

// serveE2EApp serves CometBFT's e2e app over the ABCI socket until the process is killed.
func serveE2EApp(path string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "e2e app:", err)
		os.Exit(2)
	}
	bz, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	var spec e2eAppSpec
	if err := json.Unmarshal(bz, &spec); err != nil {
		fail(err)
	}
	app, err := e2eapp.NewApplication(&spec.App)
	if err != nil {
		fail(err)
	}
	srv, err := server.NewServer(spec.Listen, "socket", app)
	if err != nil {
		fail(err)
	}
	if err := srv.Start(); err != nil {
		fail(err)
	}
	// Serve until the test kills the process, or until its end of stdin closes: the test
	// process died without killing it.
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// TestCometBFTE2EAppOverSocket runs CometBFT's end-to-end test app (test/e2e/app: a
// key/value store that persists its state every height, takes state-sync snapshots and
// returns the validator updates its config lists) as one separate process per validator,
// reached over the ABCI socket, under 4 validators with crashes and network faults. The
// app returns a power change for one validator at height H, and the test proves:
//
//   - the chain stays safe and live through it (no checker violation, at least 10 heights
//     past H on every honest node);
//   - the change takes effect at exactly H+2, as on CometBFT: every node hands the app a
//     NextValidatorsHash naming the old set up to height H and the new one from H+1 on (the
//     set of K+1 is named at K), DecidedLastCommit lists the old powers up to height H+2
//     and the new ones from H+3 on (it lists the set of the previous height), and the DAG
//     itself moved to a new epoch;
//   - every app saw a valid ABCI call sequence (abci/grammar, ADR-108) in every connection
//     session, no InitChain once it had executed a height (it outlives the nodes' crashes),
//     and never panicked, logged an error or exited; its
//     state-sync snapshots carry the app hashes the chain committed at their heights, and
//     its Info at the end reports the last height and app hash the chain executed, and
//     every committed transaction reads back through its Query.
func TestCometBFTE2EAppOverSocket(t *testing.T) {
	const (
		n                = 4
		power            = 10
		updateHeight     = 5 // H: the app returns the update in FinalizeBlock(H)
		changed          = 2 // the validator whose power changes
		newPower         = 25
		snapshotInterval = 5
	)
	pubs := make([]ed25519.PubKey, n)
	powers := make([]int64, n)
	for i := range pubs {
		pubs[i] = simValidatorPubKey(i)
		powers[i] = power
	}
	oldSet := validatorSetOf(pubs, powers)
	powers[changed] = newPower
	newSet := validatorSetOf(pubs, powers)
	powers[changed] = power

	appCfg := e2eapp.Config{PersistInterval: 1, SnapshotInterval: snapshotInterval,
		ValidatorUpdates: map[string]map[string]uint8{
			strconv.Itoa(updateHeight): {base64.StdEncoding.EncodeToString(pubs[changed]): newPower},
		}}
	apps := make([]*e2eAppProcess, n)
	for i := range apps {
		apps[i] = startE2EApp(t, i, appCfg)
	}
	start := time.Now()
	res := Run(Options{Seed: 1, Validators: n, Powers: powers, Byzantine: 0, Duration: 30 * time.Second,
		App: func(i int) (proxy.ClientCreator, func() error, error) {
			return &recordingCreator{ClientCreator: proxy.NewRemoteClientCreator(apps[i].addr, "socket", true),
				log: &apps[i].calls}, nil, nil
		}})
	elapsed := time.Since(start)

	// 1. Safety and liveness through the change.
	for _, v := range res.Violations {
		t.Error(v)
	}
	if res.Heights < updateHeight+10 {
		t.Errorf("the lowest honest node reached height %d, want at least %d", res.Heights, updateHeight+10)
	}
	if res.Stats.TxsCommitted == 0 {
		t.Error("nothing committed")
	}
	if res.Stats.Epochs < 1 { // epochs count from 0
		t.Error("the DAG never left its genesis epoch: the new set never became the ordering committee")
	}

	// 2. The set changes at H+2 exactly, on every node.
	for i, a := range apps {
		a.calls.checkValidatorSets(t, i, updateHeight, changed, pubs[changed], newPower, oldSet, newSet)
	}

	// 3. The app saw valid call sequences, kept running, logged no error, and its own
	// state agrees with the chain.
	for i, a := range apps {
		a.calls.checkGrammar(t, i)
		a.check(t, i, snapshotInterval)
	}
	t.Logf("heights %d (lowest honest node), update returned at %d, new set from %d, epochs %d; %d transactions committed; "+
		"app connection sessions per node %v; faults: %s; %s wall time",
		res.Heights, updateHeight, updateHeight+2, res.Stats.Epochs, res.Stats.TxsCommitted,
		sessionCounts(apps), res.Stats.FaultSummary(), elapsed.Round(time.Millisecond))
}

// simValidatorPubKey is validator i's key as drawCommittee derives it; checkValidatorSets
// fails if the two ever part (the sets the chain reports would not be these).
func simValidatorPubKey(i int) ed25519.PubKey {
	return ed25519.PubKey(newSigner(binary.BigEndian.AppendUint64([]byte("sim-validator-"), uint64(i))).PubKey())
}

func validatorSetOf(pubs []ed25519.PubKey, powers []int64) *cmttypes.ValidatorSet {
	vals := make([]*cmttypes.Validator, len(pubs))
	for i, pk := range pubs {
		vals[i] = cmttypes.NewValidator(pk, powers[i])
	}
	return cmttypes.NewValidatorSet(vals)
}

// e2eAppProcess is one running e2e app.
type e2eAppProcess struct {
	addr    string
	dir     string
	output  string // stdout and stderr
	exited  chan struct{}
	waitErr error
	calls   appCalls
}

func startE2EApp(t *testing.T, i int, cfg e2eapp.Config) *e2eAppProcess {
	t.Helper()
	p := &e2eAppProcess{addr: "tcp://" + freeLoopbackAddress(t), dir: t.TempDir(), exited: make(chan struct{})}
	cfg.Dir = filepath.Join(p.dir, "app")
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bz, err := json.Marshal(e2eAppSpec{Listen: p.addr, App: cfg})
	if err != nil {
		t.Fatal(err)
	}
	specPath := filepath.Join(p.dir, "spec.json")
	if err := os.WriteFile(specPath, bz, 0o644); err != nil {
		t.Fatal(err)
	}
	p.output = filepath.Join(p.dir, "output.log")
	out, err := os.Create(p.output)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), e2eAppEnv+"="+specPath)
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe() // held open until this process exits
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = stdin.Close()
		<-p.exited
		if t.Failed() { // the app's last words, without its line per CheckTx
			if bz, err := os.ReadFile(p.output); err == nil {
				var lines []string
				for _, l := range strings.Split(string(bz), "\n") {
					if !strings.Contains(l, "Inserted tx into app-side mempool") {
						lines = append(lines, l)
					}
				}
				t.Logf("e2e app %d output (last lines):\n%s", i, strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}
	})
	waitListening(t, p.addr)
	return p
}

// check fails the test if the app exited, panicked or logged an error, and compares its
// snapshots and Info with what the chain executed on this node.
func (p *e2eAppProcess) check(t *testing.T, i, snapshotInterval int) {
	t.Helper()
	select {
	case <-p.exited:
		t.Errorf("e2e app %d exited during the run: %v", i, p.waitErr)
		return
	default:
	}
	out, err := os.ReadFile(p.output)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		// The app logs through CometBFT's TM logger ("E[time] msg" for errors); the socket
		// server prints a recovered panic of the app to stderr.
		if strings.HasPrefix(line, "E[") || strings.Contains(line, "panic") {
			t.Errorf("e2e app %d reported: %s", i, line)
		}
	}

	c := abcicli.NewSocketClient(p.addr, true)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop() }()
	ctx := context.Background()
	last := p.calls.lastHeight()
	info, err := c.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != last || !bytes.Equal(info.LastBlockAppHash, p.calls.appHash(last)) {
		t.Errorf("e2e app %d: Info reports height %d app hash %X, the node executed height %d with app hash %X",
			i, info.LastBlockHeight, info.LastBlockAppHash, last, p.calls.appHash(last))
	}
	snaps, err := c.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	if err != nil {
		t.Fatal(err)
	}
	if want := int(last) / snapshotInterval; len(snaps.Snapshots) != min(want, 10) { // the app keeps the last 10
		t.Errorf("e2e app %d has %d snapshots at height %d, want %d", i, len(snaps.Snapshots), last, min(want, 10))
	}
	for _, s := range snaps.Snapshots {
		h := int64(s.Height)
		if h%int64(snapshotInterval) != 0 || !bytes.Equal(s.Hash, p.calls.appHash(h)) {
			t.Errorf("e2e app %d: snapshot at height %d has hash %X, the chain committed app hash %X there",
				i, h, s.Hash, p.calls.appHash(h))
		}
	}
	// Every committed "key=value" transaction reads back.
	for h := int64(1); h <= last; h++ {
		for _, tx := range p.calls.requests[h].GetTxs() {
			key, value, _ := strings.Cut(string(tx), "=")
			res, err := c.Query(ctx, &abci.RequestQuery{Data: []byte(key)})
			if err != nil || string(res.Value) != value {
				t.Errorf("e2e app %d: key %q reads %q (%v), committed %q at height %d", i, key, res.GetValue(), err, value, h)
				return
			}
		}
	}
}

// appCalls is what one node's app was asked and answered, over all of the node's
// incarnations (the app process outlives the node's crashes).
type appCalls struct {
	sessions []*grammar.Recorder // one per connection: the node opens one at each start
	requests map[int64]*abci.RequestFinalizeBlock
	results  map[int64]*abci.ResponseFinalizeBlock
}

func (a *appCalls) finalized(req *abci.RequestFinalizeBlock, res *abci.ResponseFinalizeBlock) {
	if a.requests == nil {
		a.requests = map[int64]*abci.RequestFinalizeBlock{}
		a.results = map[int64]*abci.ResponseFinalizeBlock{}
	}
	if _, ok := a.requests[req.Height]; !ok { // a replay of a height must give the same; S3 checks it
		a.requests[req.Height], a.results[req.Height] = req, res
	}
}

func (a *appCalls) lastHeight() int64 {
	var h int64
	for k := range a.requests {
		h = max(h, k)
	}
	return h
}

func (a *appCalls) appHash(h int64) []byte {
	if r := a.results[h]; r != nil {
		return r.AppHash
	}
	return nil
}

// checkGrammar checks every session's calls against ABCI's grammar, and that InitChain
// came once, in the first session: the app keeps its state across the node's restarts, so
// a later session must be a recovery (Info, then the next heights). As on CometBFT, a node
// restarting while its app is still at height 0 initialises the chain again.
func (a *appCalls) checkGrammar(t *testing.T, i int) {
	t.Helper()
	if len(a.sessions) == 0 {
		t.Errorf("node %d never connected to its app", i)
	}
	executed := false // a FinalizeBlock in an earlier session
	for s, rec := range a.sessions {
		calls := rec.Calls()
		if err := grammar.CheckTutti(calls); err != nil {
			t.Errorf("node %d, app session %d: %v", i, s, err)
		}
		inits := 0
		for _, c := range calls {
			if c.Method == "InitChain" {
				inits++
			}
		}
		switch {
		case s == 0 && inits != 1:
			t.Errorf("node %d: %d InitChain calls in the first app session, want 1", i, inits)
		case s > 0 && executed && inits != 0:
			t.Errorf("node %d, app session %d: InitChain to an app that had executed heights", i, s)
		}
		for _, c := range calls {
			executed = executed || c.Method == "FinalizeBlock"
		}
	}
}

// checkValidatorSets checks, height by height, the sets the node handed its app: the
// update returned at H changes the set of H+2 and no other.
func (a *appCalls) checkValidatorSets(t *testing.T, i int, h int64, changed int, changedKey ed25519.PubKey, newPower int64,
	oldSet, newSet *cmttypes.ValidatorSet) {
	t.Helper()
	last := a.lastHeight()
	if last < h+3 {
		t.Errorf("node %d executed only up to height %d", i, last)
		return
	}
	setOf := func(height int64) *cmttypes.ValidatorSet { // the set that signs height
		if height >= h+2 {
			return newSet
		}
		return oldSet
	}
	name := func(set *cmttypes.ValidatorSet) string {
		if set == newSet {
			return "new"
		}
		return "old"
	}
	for k := int64(1); k <= last; k++ {
		req, res := a.requests[k], a.results[k]
		if req == nil {
			t.Errorf("node %d never executed height %d", i, k)
			continue
		}
		// The app's own answer: the update at H, nothing elsewhere.
		if k == h {
			if len(res.ValidatorUpdates) != 1 || !bytes.Equal(res.ValidatorUpdates[0].PubKey.GetEd25519(), changedKey) ||
				res.ValidatorUpdates[0].Power != newPower {
				t.Errorf("node %d: the app returned %v at height %d, want validator %d at power %d",
					i, res.ValidatorUpdates, k, changed, newPower)
			}
		} else if len(res.ValidatorUpdates) != 0 {
			t.Errorf("node %d: the app returned %v at height %d, want none", i, res.ValidatorUpdates, k)
		}
		// NextValidatorsHash of K is the hash of the set of K+1. (Not checked at the
		// initial height: Tutti's cut leaves it empty there, where CometBFT gives the hash
		// of the set InitChain settled.)
		if want := setOf(k + 1).Hash(); k > 1 && !bytes.Equal(req.NextValidatorsHash, want) {
			t.Errorf("node %d: FinalizeBlock(%d).NextValidatorsHash is %X, want %X (the %s set)",
				i, k, req.NextValidatorsHash, want, name(setOf(k+1)))
		}
		// DecidedLastCommit of K lists the set of K-1, with its powers.
		if k == 1 {
			if len(req.DecidedLastCommit.Votes) != 0 {
				t.Errorf("node %d: FinalizeBlock(1) lists %d last-commit votes", i, len(req.DecidedLastCommit.Votes))
			}
			continue
		}
		want := setOf(k - 1)
		if got := powersListed(req.DecidedLastCommit.Votes); !maps.Equal(got, powersOf(want)) {
			t.Errorf("node %d: FinalizeBlock(%d).DecidedLastCommit lists %v, want the %s set %v",
				i, k, got, name(want), powersOf(want))
		}
	}
}

// powersListed maps each listed validator's address to its power.
func powersListed(votes []abci.VoteInfo) map[string]int64 {
	out := map[string]int64{}
	for _, v := range votes {
		out[fmt.Sprintf("%X", v.Validator.Address)] = v.Validator.Power
	}
	return out
}

func powersOf(set *cmttypes.ValidatorSet) map[string]int64 {
	out := map[string]int64{}
	for _, v := range set.Validators {
		out[fmt.Sprintf("%X", v.Address)] = v.VotingPower
	}
	return out
}

func sessionCounts(apps []*e2eAppProcess) []int {
	out := make([]int, len(apps))
	for i, a := range apps {
		out[i] = len(a.calls.sessions)
	}
	return out
}

// recordingCreator connects to the app through cometbft's own socket client and records,
// per connection, the calls the app receives (for the grammar) and every FinalizeBlock.
type recordingCreator struct {
	proxy.ClientCreator
	log *appCalls
}

func (c *recordingCreator) NewABCIClient() (abcicli.Client, error) {
	client, err := c.ClientCreator.NewABCIClient()
	if err != nil {
		return nil, err
	}
	rec := grammar.NewRecorder(client)
	c.log.sessions = append(c.log.sessions, rec)
	return &recordedClient{clientService: client, Recorder: rec, log: c.log}, nil
}

// clientService is the part of abcicli.Client beyond the ABCI methods.
type clientService interface {
	service.Service
	Error() error
	Flush(context.Context) error
	Echo(context.Context, string) (*abci.ResponseEcho, error)
	SetResponseCallback(abcicli.Callback)
	CheckTxAsync(context.Context, *abci.RequestCheckTx) (*abcicli.ReqRes, error)
}

// recordedClient is the socket client with its ABCI methods going through a recorder.
type recordedClient struct {
	clientService
	*grammar.Recorder
	log *appCalls
}

var _ abcicli.Client = (*recordedClient)(nil)

func (c *recordedClient) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	res, err := c.Recorder.FinalizeBlock(ctx, req)
	if err == nil {
		c.log.finalized(req, res)
	}
	return res, err
}
