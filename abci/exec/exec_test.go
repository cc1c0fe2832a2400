package exec

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	"github.com/cometbft/cometbft/crypto/secp256k1"
	"github.com/cometbft/cometbft/proxy"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/abci/grammar"
	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

func key(seed string) ed25519.PubKey {
	return ed25519.GenPrivKeyFromSecret([]byte(seed)).PubKey().(ed25519.PubKey)
}

// recordingApp keeps the last FinalizeBlock request, so the test can read what the app
// was told.
type recordingApp struct {
	*grammar.Recorder
	last *abci.RequestFinalizeBlock
}

func (r *recordingApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	r.last = req
	return r.Recorder.FinalizeBlock(ctx, req)
}

func TestFinalizeBlockFieldsAndUpdatesAtHPlus2(t *testing.T) {
	v0, v1, newcomer := key("v0"), key("v1"), key("newcomer")
	set := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(v0, 10), cmttypes.NewValidator(v1, 10)})
	app := &recordingApp{Recorder: grammar.NewRecorder(kvstore.NewInMemoryApplication())}
	client, err := proxy.NewLocalClientCreator(app).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Stop() }()
	conn := proxy.NewAppConnConsensus(client, proxy.NopMetrics())
	ctx := context.Background()
	if _, err := conn.InitChain(ctx, &abci.RequestInitChain{ChainId: "x", Validators: cmttypes.TM2PB.ValidatorUpdates(set)}); err != nil {
		t.Fatal(err)
	}
	e := New(conn, 0, nil, set, set)

	pk, err := cryptoenc.PubKeyToProto(newcomer)
	if err != nil {
		t.Fatal(err)
	}
	b1 := order.ABCIBlock{Height: 1, TimeMs: 1_700_000_000_123, ProposerPubKey: v1,
		Txs:                [][]byte{[]byte("a=1"), kvstore.MakeValSetChangeTx(pk, 5)},
		DecidedLastCommit:  []order.CommitVote{{PubKey: v0, Power: 10, Signed: true}, {PubKey: v1, Power: 10}},
		Misbehavior:        []order.Misbehavior{{PubKey: v0, Power: 10, Height: 1, TimeMs: 5}, {PubKey: v0, Power: 10, Height: 1, TimeMs: 6}},
		Hash:               []byte("hash-1"),
		NextValidatorsHash: set.Hash()}
	executed, result, err := e.Execute(ctx, &b1, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := app.last
	if req.Height != 1 || !req.Time.Equal(time.UnixMilli(1_700_000_000_123)) || !bytes.Equal(req.ProposerAddress, v1.Address()) ||
		!bytes.Equal(req.Hash, []byte("hash-1")) || !bytes.Equal(req.NextValidatorsHash, set.Hash()) {
		t.Fatalf("header fields: %+v", req)
	}
	if votes := req.DecidedLastCommit.Votes; len(votes) != 0 {
		t.Fatalf("the initial height has no last commit, got %+v", votes)
	}
	if len(req.Misbehavior) != 1 || req.Misbehavior[0].TotalVotingPower != 20 || req.Misbehavior[0].Type != abci.MisbehaviorType_DUPLICATE_VOTE {
		t.Fatalf("misbehavior (one per validator per block): %+v", req.Misbehavior)
	}
	if len(result.ValidatorUpdates) != 2 { // the newcomer, and kvstore's penalty for v0
		t.Fatalf("validator updates %+v", result.ValidatorUpdates)
	}
	if !bytes.Equal(executed.ResultsHash, cmttypes.NewResults(executed.Response.TxResults).Hash()) || result.Height != 1 {
		t.Fatal("results hash")
	}
	next, after := e.ValidatorSets()
	if next.HasAddress(newcomer.Address()) || !after.HasAddress(newcomer.Address()) {
		t.Fatal("an update returned at H must take effect at H+2, not H+1")
	}
	if !bytes.Equal(result.NextValidatorsHash, after.Hash()) {
		t.Fatal("the attested next validators hash must be that of H+2's set")
	}
	// The core derives the next epoch's committee from NextValidators and checks it against
	// the attested hash with its own implementation of CometBFT's set hash.
	if len(result.NextValidators) != 3 || !bytes.Equal(types.ValidatorSetHash(result.NextValidators), after.Hash()) {
		t.Fatalf("next validators %+v do not hash to the set of H+2", result.NextValidators)
	}
	if _, _, err := e.Execute(ctx, &order.ABCIBlock{Height: 3}, nil); err == nil {
		t.Fatal("a skipped height was executed")
	}
	if err := grammar.Check(append([]grammar.Call{{Method: "Info"}}, app.Calls()...)); err != nil {
		t.Fatal(err)
	}
}

// TestMisbehaviorOfRemovedValidatorIsNotReported: the app removed v0 at height 1 (in its
// own view at once, for signing from height 3); an equivocation of v0 ordered at height 2
// is not handed to it (CometBFT's kvstore panics on a validator it no longer holds), while
// v1's is.
func TestMisbehaviorOfRemovedValidatorIsNotReported(t *testing.T) {
	v0, v1, v2 := key("v0"), key("v1"), key("v2")
	set := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(v0, 10),
		cmttypes.NewValidator(v1, 10), cmttypes.NewValidator(v2, 10)})
	app := &recordingApp{Recorder: grammar.NewRecorder(kvstore.NewInMemoryApplication())}
	client, err := proxy.NewLocalClientCreator(app).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Stop() }()
	conn := proxy.NewAppConnConsensus(client, proxy.NopMetrics())
	ctx := context.Background()
	if _, err := conn.InitChain(ctx, &abci.RequestInitChain{ChainId: "x", Validators: cmttypes.TM2PB.ValidatorUpdates(set)}); err != nil {
		t.Fatal(err)
	}
	e := New(conn, 0, nil, set, set)
	pk, err := cryptoenc.PubKeyToProto(v0)
	if err != nil {
		t.Fatal(err)
	}
	b1 := order.ABCIBlock{Height: 1, TimeMs: 1, ProposerPubKey: v1, Hash: []byte("h1"),
		Txs: [][]byte{kvstore.MakeValSetChangeTx(pk, 0)}}
	if _, result, err := e.Execute(ctx, &b1, nil); err != nil || len(result.NextValidators) != 2 {
		t.Fatalf("height 1: %v, next validators %+v", err, result.NextValidators)
	}
	b2 := order.ABCIBlock{Height: 2, TimeMs: 2, ProposerPubKey: v1, Hash: []byte("h2"),
		Misbehavior: []order.Misbehavior{{PubKey: v0, Power: 10, Height: 2, TimeMs: 2}, {PubKey: v1, Power: 10, Height: 2, TimeMs: 2}}}
	if _, _, err := e.Execute(ctx, &b2, nil); err != nil {
		t.Fatal(err)
	}
	if mis := app.last.Misbehavior; len(mis) != 1 || !bytes.Equal(mis[0].Validator.Address, v1.Address()) {
		t.Fatalf("misbehavior handed to the app: %+v, want only v1's", mis)
	}
}

// TestLastCommitListsTheAppsSetOfThePreviousHeight: the cut lists the DAG committee that
// attested K-1, which lags the app's set while an epoch outlives an update. The request
// lists exactly the app's set of K-1 (the newcomer ABSENT, since it cannot attest before
// its epoch; the removed validator not at all), COMMIT matched by key, powers from the set.
func TestLastCommitListsTheAppsSetOfThePreviousHeight(t *testing.T) {
	v0, v1, v2, gone := key("v0"), key("v1"), key("v2"), key("gone")
	last := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(v0, 7),
		cmttypes.NewValidator(v1, 10), cmttypes.NewValidator(v2, 10)})
	cut := []order.CommitVote{{PubKey: v0, Power: 10, Signed: true}, {PubKey: v1, Power: 10, Signed: false},
		{PubKey: gone, Power: 10, Signed: true}}
	req := Request(&order.ABCIBlock{Height: 5, DecidedLastCommit: cut}, last, last.TotalVotingPower())
	votes := req.DecidedLastCommit.Votes
	if len(votes) != len(last.Validators) {
		t.Fatalf("%d votes, want the %d validators of the previous height", len(votes), len(last.Validators))
	}
	want := map[string]cmtproto.BlockIDFlag{string(v0.Address()): cmtproto.BlockIDFlagCommit,
		string(v1.Address()): cmtproto.BlockIDFlagAbsent, string(v2.Address()): cmtproto.BlockIDFlagAbsent}
	for i, v := range votes {
		if !bytes.Equal(v.Validator.Address, last.Validators[i].Address) || v.Validator.Power != last.Validators[i].VotingPower ||
			v.BlockIdFlag != want[string(v.Validator.Address)] {
			t.Fatalf("vote %d: %+v", i, v)
		}
	}
}

// The height's results are made durable after FinalizeBlock and before the app's Commit, so
// a crash leaves the app behind the block store (replayable), never ahead of it; when they
// cannot be stored, the app does not commit.
func TestResultsAreDurableBeforeTheAppCommits(t *testing.T) {
	set := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(key("v0"), 10)})
	rec := grammar.NewRecorder(kvstore.NewInMemoryApplication())
	client, err := proxy.NewLocalClientCreator(rec).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Stop() }()
	conn := proxy.NewAppConnConsensus(client, proxy.NopMetrics())
	ctx := context.Background()
	if _, err := conn.InitChain(ctx, &abci.RequestInitChain{ChainId: "x", Validators: cmttypes.TM2PB.ValidatorUpdates(set)}); err != nil {
		t.Fatal(err)
	}
	e := New(conn, 0, nil, set, set)
	calls := func() string {
		var s []byte
		for _, c := range rec.Calls() {
			s = append(s, c.Method...)
			s = append(s, ' ')
		}
		return string(s)
	}
	var atDurable string
	b1 := order.ABCIBlock{Height: 1, TimeMs: 1, Txs: [][]byte{[]byte("a=1")}, Hash: []byte("h1")}
	if _, _, err := e.Execute(ctx, &b1, func(ex *Executed, r core.ExecutionResult) error {
		atDurable = calls()
		if ex.Response == nil || r.Height != 1 || len(r.AppHash) == 0 || ex.AfterNextValidators == nil {
			t.Errorf("durable got an incomplete height: %+v %+v", ex, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := "InitChain ProcessProposal FinalizeBlock "; atDurable != want {
		t.Fatalf("calls when the results were made durable: %q, want %q (before Commit)", atDurable, want)
	}
	b2 := order.ABCIBlock{Height: 2, TimeMs: 2, Txs: [][]byte{[]byte("b=2")}, Hash: []byte("h2")}
	if _, _, err := e.Execute(ctx, &b2, func(*Executed, core.ExecutionResult) error { return errors.New("disk full") }); err == nil {
		t.Fatal("Execute succeeded although the results could not be stored")
	}
	if got, want := calls(), "InitChain ProcessProposal FinalizeBlock Commit ProcessProposal FinalizeBlock "; got != want {
		t.Fatalf("calls: %q, want %q (no Commit for height 2)", got, want)
	}
	if e.LastHeight() != 1 {
		t.Fatalf("last height %d after a failed height 2, want 1", e.LastHeight())
	}
}

// verdictApp is CometBFT's kvstore answering ProcessProposal with a set status, and keeping
// the last ProcessProposal and FinalizeBlock requests.
type verdictApp struct {
	*kvstore.Application
	status   abci.ResponseProcessProposal_ProposalStatus
	process  *abci.RequestProcessProposal
	finalize *abci.RequestFinalizeBlock
}

func (a *verdictApp) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	a.process = req
	return &abci.ResponseProcessProposal{Status: a.status}, nil
}

func (a *verdictApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.finalize = req
	return a.Application.FinalizeBlock(ctx, req)
}

// ProcessProposal is asked about exactly the block FinalizeBlock then executes, field by
// field (an app's optimistic execution of it must be FinalizeBlock's); a REJECT does not
// stop a final block; a status other than ACCEPT or REJECT stops the node; a replay asks
// nothing.
func TestProcessProposalNamesTheBlockFinalizeBlockGets(t *testing.T) {
	v0, v1 := key("v0"), key("v1")
	set := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(v0, 10), cmttypes.NewValidator(v1, 10)})
	app := &verdictApp{Application: kvstore.NewInMemoryApplication(), status: abci.ResponseProcessProposal_ACCEPT}
	client, err := proxy.NewLocalClientCreator(app).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Stop() }()
	conn := proxy.NewAppConnConsensus(client, proxy.NopMetrics())
	ctx := context.Background()
	if _, err := conn.InitChain(ctx, &abci.RequestInitChain{ChainId: "x", Validators: cmttypes.TM2PB.ValidatorUpdates(set)}); err != nil {
		t.Fatal(err)
	}
	e := New(conn, 0, nil, set, set)
	b1 := order.ABCIBlock{Height: 1, TimeMs: 1_000, ProposerPubKey: v0, Txs: [][]byte{[]byte("a=1")}, Hash: []byte("h1"),
		NextValidatorsHash: set.Hash()}
	if ex, _, err := e.Execute(ctx, &b1, nil); err != nil || ex.Rejected {
		t.Fatalf("height 1: %v (rejected %v)", err, ex != nil && ex.Rejected)
	}
	app.status = abci.ResponseProcessProposal_REJECT
	b2 := order.ABCIBlock{Height: 2, TimeMs: 2_000, ProposerPubKey: v1, Txs: [][]byte{[]byte("b=2"), []byte("c=3")}, Hash: []byte("h2"),
		DecidedLastCommit:  []order.CommitVote{{PubKey: v0, Power: 10, Signed: true}, {PubKey: v1, Power: 10}},
		Misbehavior:        []order.Misbehavior{{PubKey: v1, Power: 10, Height: 2, TimeMs: 2_000}},
		NextValidatorsHash: set.Hash()}
	ex, _, err := e.Execute(ctx, &b2, nil)
	if err != nil || !ex.Rejected {
		t.Fatalf("height 2, rejected by the app: %v (rejected %v); a final block must be executed and flagged", err, ex != nil && ex.Rejected)
	}
	if got, want := app.process, ProcessRequest(app.finalize); !reflect.DeepEqual(got, want) {
		t.Fatalf("ProcessProposal asked about\n%+v\nFinalizeBlock got\n%+v", got, want)
	}
	p, f := app.process, app.finalize
	if p.Height != 2 || string(p.Hash) != "h2" || len(p.Txs) != 2 || len(p.Misbehavior) != 1 || len(p.ProposedLastCommit.Votes) != 2 ||
		!p.Time.Equal(f.Time) || !bytes.Equal(p.ProposerAddress, v1.Address()) || !bytes.Equal(p.NextValidatorsHash, set.Hash()) {
		t.Fatalf("ProcessProposal request: %+v", p)
	}
	app.status = abci.ResponseProcessProposal_UNKNOWN
	if _, _, err := e.Execute(ctx, &order.ABCIBlock{Height: 3, TimeMs: 3_000, ProposerPubKey: v0, Hash: []byte("h3")}, nil); err == nil ||
		!strings.Contains(err.Error(), "only ACCEPT and REJECT") {
		t.Fatalf("status UNKNOWN: %v", err)
	}
	if e.LastHeight() != 2 {
		t.Fatalf("a height whose ProcessProposal failed was executed: last height %d", e.LastHeight())
	}
	app.process = nil
	if _, _, err := e.Replay(ctx, &order.ABCIBlock{Height: 3, TimeMs: 3_000, ProposerPubKey: v0, Hash: []byte("h3")}, nil); err != nil || app.process != nil {
		t.Fatalf("replay: %v; asked ProcessProposal %v", err, app.process)
	}
}

// An app that returns a validator update with a key validators cannot sign with (not
// ed25519) stops the node at that height with the reason, rather than add a validator whose
// blocks nobody could verify.
func TestAValidatorUpdateWithANonEd25519KeyIsRefused(t *testing.T) {
	v0 := key("v0")
	set := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(v0, 10)})
	ctx := context.Background()
	e := New(initChained(t, kvstore.NewInMemoryApplication(), set), 0, nil, set, set)
	pk, err := cryptoenc.PubKeyToProto(secp256k1.GenPrivKeySecp256k1([]byte("newcomer")).PubKey())
	if err != nil {
		t.Fatal(err)
	}
	b := order.ABCIBlock{Height: 1, TimeMs: 1_700_000_000_000, ProposerPubKey: v0,
		Txs: [][]byte{kvstore.MakeValSetChangeTx(pk, 5)}, Hash: []byte("hash-1"), NextValidatorsHash: set.Hash()}
	_, _, err = e.Execute(ctx, &b, nil)
	if err == nil || !strings.Contains(err.Error(), "secp256k1 key") || !strings.Contains(err.Error(), "height 1") {
		t.Fatalf("executing a secp256k1 validator update: %v, want an error naming the height and the key type", err)
	}
}

// initChained is a consensus connection to app behind cometbft's local client, after
// InitChain with set; the test stops the client.
func initChained(t *testing.T, app abci.Application, set *cmttypes.ValidatorSet) proxy.AppConnConsensus {
	t.Helper()
	client, err := proxy.NewLocalClientCreator(app).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Stop() })
	conn := proxy.NewAppConnConsensus(client, proxy.NopMetrics())
	if _, err := conn.InitChain(context.Background(), &abci.RequestInitChain{ChainId: "x", Validators: cmttypes.TM2PB.ValidatorUpdates(set)}); err != nil {
		t.Fatal(err)
	}
	return conn
}
