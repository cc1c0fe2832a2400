package node

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/tutti-bft/tutti/abci/conn"
	"github.com/tutti-bft/tutti/abci/grammar"
)

// shapingApp is CometBFT's kvstore with its own PrepareProposal and ProcessProposal: it
// leaves out transactions starting "drop-", adds one of its own to every non-empty list,
// and rejects blocks carrying a transaction starting "veto-". It records what it answered
// and the heights ProcessProposal named.
type shapingApp struct {
	*kvstore.Application
	mu       sync.Mutex
	prepared []prepareCall
	rejected int
	accepted int
	added    int
	// processed counts ProcessProposal calls by height.
	processed map[int64]int
}

type prepareCall struct {
	req *abci.RequestPrepareProposal
	out [][]byte
}

func (a *shapingApp) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out [][]byte
	for _, tx := range req.Txs {
		if !bytes.HasPrefix(tx, []byte("drop-")) {
			out = append(out, tx)
		}
	}
	if len(req.Txs) > 0 {
		a.added++
		out = append(out, []byte(fmt.Sprintf("added-%x-%d=1", req.ProposerAddress[:4], a.added)))
	}
	a.prepared = append(a.prepared, prepareCall{req: req, out: out})
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}

func (a *shapingApp) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.processed[req.Height]++
	for _, tx := range req.Txs {
		if bytes.HasPrefix(tx, []byte("veto-")) {
			a.rejected++
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
	}
	a.accepted++
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// The apps of every node of the test, by data directory, each behind a grammar recorder.
var shapingApps = struct {
	sync.Mutex
	apps map[string]*shapingApp
	recs map[string]*grammar.Recorder
}{apps: map[string]*shapingApp{}, recs: map[string]*grammar.Recorder{}}

const shapingAppName = "shaping-kvstore"

func init() {
	conn.Builtins[shapingAppName] = func(dbDir string) (abci.Application, error) {
		app := &shapingApp{Application: kvstore.NewInMemoryApplication(), processed: map[int64]int{}}
		rec := grammar.NewRecorder(app)
		shapingApps.Lock()
		shapingApps.apps[dbDir], shapingApps.recs[dbDir] = app, rec
		shapingApps.Unlock()
		return rec, nil
	}
}

// TestPrepareAndProcessProposal runs two validators whose app shapes its proposals. It
// proves that a validator's own DAG block carries exactly the list PrepareProposal
// returned (the added transaction in, the left-out one out), that a left-out transaction
// stays in the mempool rather than being lost, that ProcessProposal is asked once per
// executed height about exactly the block FinalizeBlock then gets, that a height it rejects
// is executed anyway (it is final), that both nodes agree on every height, and that the app
// saw a valid ABCI call sequence whose proposal calls name the height after the last
// committed one.
func TestPrepareAndProcessProposal(t *testing.T) {
	t.Parallel()
	cfgs := testHomes(t, 2, nil)
	var nodes [2]*Node
	for i, cfg := range cfgs {
		cfg.ProxyApp = shapingAppName // after validation, which knows only the shipped apps
		nodes[i], _ = runTestNode(t, cfg, &lockedBuffer{})
	}
	for _, n := range nodes {
		waitFor(t, "height 2", func() (int64, bool) { return n.Height(), n.Height() >= 2 })
	}
	ctx := context.Background()
	for _, s := range []struct {
		node int
		tx   string
	}{{0, "keep-1=a"}, {0, "drop-1=b"}, {0, "keep-2=c"}, {1, "veto-1=x"}} {
		if res, err := nodes[s.node].CheckTx(ctx, []byte(s.tx)); err != nil || res.Code != abci.CodeTypeOK {
			t.Fatalf("CheckTx %s: %v %v", s.tx, res, err)
		}
	}
	committed := func(n *Node) map[string]int64 {
		out := map[string]int64{}
		for h := int64(1); h <= n.Height(); h++ {
			b, err := n.store.Block(h)
			if err != nil {
				t.Fatal(err)
			}
			for _, tx := range b.Txs {
				out[string(tx)] = h
			}
		}
		return out
	}
	want := []string{"keep-1=a", "keep-2=c", "veto-1=x"}
	var last map[string]int64
	waitFor(t, "the kept and vetoed transactions committed on both nodes", func() (map[string]int64, bool) {
		for _, n := range nodes {
			last = committed(n)
			for _, tx := range want {
				if _, ok := last[tx]; !ok {
					return last, false
				}
			}
		}
		return last, true
	})
	// A few heights more: the left-out transaction must still not be committed.
	h := nodes[0].Height()
	waitFor(t, "three more heights", func() (int64, bool) { return nodes[0].Height(), nodes[0].Height() >= h+3 })
	waitFor(t, "node 1 at node 0's height", func() (int64, bool) { return nodes[1].Height(), nodes[1].Height() >= h+3 })
	last = committed(nodes[0])
	if _, ok := last["drop-1=b"]; ok {
		t.Fatal("a transaction PrepareProposal left out was committed")
	}
	if !slices.ContainsFunc(nodes[0].pool.Pending(0), func(tx []byte) bool { return string(tx) == "drop-1=b" }) {
		t.Fatal("the transaction PrepareProposal left out is no longer in the mempool")
	}

	shapingApps.Lock()
	app0, rec0 := shapingApps.apps[cfgs[0].DBPath()], shapingApps.recs[cfgs[0].DBPath()]
	rec1 := shapingApps.recs[cfgs[1].DBPath()]
	shapingApps.Unlock()
	app0.mu.Lock()
	prepared := slices.Clone(app0.prepared)
	rejected := app0.rejected
	processed := maps.Clone(app0.processed)
	app0.mu.Unlock()

	// The own block that carries keep-1 carries exactly the app's list for it.
	self := nodes[0].committee.Load().IndexOf(nodes[0].signer.PubKey())
	blocks, err := nodes[0].store.Blocks()
	if err != nil {
		t.Fatal(err)
	}
	var call *prepareCall
	for i := range prepared {
		if slices.ContainsFunc(prepared[i].out, func(tx []byte) bool { return string(tx) == "keep-1=a" }) {
			call = &prepared[i]
		}
	}
	if call == nil {
		t.Fatal("no PrepareProposal returned keep-1")
	}
	found := false
	for _, b := range blocks {
		if b.Author == self && slices.EqualFunc(b.Txs, call.out, bytes.Equal) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no own block carries the app's list %q", call.out)
	}
	added := string(call.out[len(call.out)-1])
	if _, ok := last[added]; !ok {
		t.Fatalf("the transaction the app added (%s) was not committed", added)
	}
	addr := ed25519.PubKey(nodes[0].signer.PubKey()).Address()
	if r := call.req; r.MaxTxBytes <= 0 || r.Height < 2 || !bytes.Equal(r.ProposerAddress, addr) || len(r.Misbehavior) != 0 {
		t.Fatalf("PrepareProposal request: max_tx_bytes %d, height %d, proposer %X (want %X), misbehavior %d",
			r.MaxTxBytes, r.Height, r.ProposerAddress, addr, len(r.Misbehavior))
	}
	if rejected != 1 {
		t.Fatalf("node 0's app rejected %d heights, want exactly the one holding the vetoed transaction", rejected)
	}
	for h, calls := range processed {
		if calls != 1 {
			t.Fatalf("node 0's app was asked ProcessProposal(%d) %d times", h, calls)
		}
	}

	// Both nodes agree on every height both executed.
	for h := int64(1); h <= min(nodes[0].Height(), nodes[1].Height()); h++ {
		_, r0, err0 := nodes[0].store.Executed(h)
		_, r1, err1 := nodes[1].store.Executed(h)
		if err0 != nil || err1 != nil || !bytes.Equal(r0.AppHash, r1.AppHash) {
			t.Fatalf("height %d: app hashes %X and %X (%v, %v)", h, r0.AppHash, r1.AppHash, err0, err1)
		}
	}

	for i, rec := range []*grammar.Recorder{rec0, rec1} {
		calls := rec.Calls()
		if err := grammar.CheckTutti(calls); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		var prep, proc, fin int
		for _, c := range calls {
			switch c.Method {
			case "PrepareProposal":
				prep++
			case "ProcessProposal":
				proc++
			case "FinalizeBlock":
				fin++
			}
		}
		// Every height a live node executes is asked about first (no replays here).
		if prep == 0 || (proc != fin && proc != fin+1) {
			t.Fatalf("node %d's app saw %d PrepareProposal, %d ProcessProposal and %d FinalizeBlock calls", i, prep, proc, fin)
		}
		t.Logf("node %d: %d calls, %d PrepareProposal, %d ProcessProposal", i, len(calls), prep, proc)
	}
}
