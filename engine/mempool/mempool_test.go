package mempool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abcicli "github.com/cometbft/cometbft/abci/client"
	"github.com/cometbft/cometbft/abci/example/kvstore"
	abciserver "github.com/cometbft/cometbft/abci/server"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtmempool "github.com/cometbft/cometbft/mempool"
	"github.com/cometbft/cometbft/proxy"
)

// kvstoreConn is a real ABCI mempool connection to CometBFT's kvstore example app, through
// cometbft's own local client, as the node opens it.
func kvstoreConn(t testing.TB) proxy.AppConnMempool {
	t.Helper()
	client, err := proxy.NewLocalClientCreator(kvstore.NewInMemoryApplication()).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Stop() })
	return proxy.NewAppConnMempool(client, proxy.NopMetrics())
}

func defaultConfig() Config {
	return Config{Size: 1000, MaxTxsBytes: 1 << 20, MaxTxBytes: 1024, CacheSize: 10000, Recheck: true}
}

func TestEveryRefusalIsDistinct(t *testing.T) {
	cfg := defaultConfig()
	cfg.Size = 2
	pool := New(cfg, kvstoreConn(t))
	ctx := context.Background()

	if res, err := pool.CheckTx(ctx, []byte("a=1")); err != nil || res.Code != abci.CodeTypeOK {
		t.Fatalf("valid tx refused: %v %v", res, err)
	}
	_, err := pool.CheckTx(ctx, []byte("a=1"))
	if !errors.Is(err, cmtmempool.ErrTxInCache) {
		t.Fatalf("duplicate: got %v", err)
	}
	_, err = pool.CheckTx(ctx, []byte(strings.Repeat("x", 1025)))
	var tooLarge cmtmempool.ErrTxTooLarge
	if !errors.As(err, &tooLarge) || tooLarge.Max != 1024 || tooLarge.Actual != 1025 {
		t.Fatalf("too large: got %v", err)
	}
	res, err := pool.CheckTx(ctx, []byte("no-separator"))
	if err != nil || res.Code != kvstore.CodeTypeInvalidTxFormat {
		t.Fatalf("failing CheckTx: got %v %v", res, err)
	}
	if _, err := pool.CheckTx(ctx, []byte("b=2")); err != nil {
		t.Fatal(err)
	}
	_, err = pool.CheckTx(ctx, []byte("c=3"))
	var full cmtmempool.ErrMempoolIsFull
	if !errors.As(err, &full) || full.MaxTxs != 2 {
		t.Fatalf("full: got %v", err)
	}
	// A tx the app refused may be sent again once fixed; it was not kept in the cache.
	if _, err := pool.CheckTx(ctx, []byte("no-separator")); errors.Is(err, cmtmempool.ErrTxInCache) {
		t.Fatal("refused tx stayed in the cache")
	}
}

func TestByteLimitCountsReservations(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxTxsBytes = 10
	pool := New(cfg, kvstoreConn(t))
	if _, err := pool.CheckTx(context.Background(), []byte("k=123456")); err != nil {
		t.Fatal(err)
	}
	_, err := pool.CheckTx(context.Background(), []byte("j=1234"))
	var full cmtmempool.ErrMempoolIsFull
	if !errors.As(err, &full) || full.TxsBytes != 8 {
		t.Fatalf("want full at 8 of 10 bytes, got %v", err)
	}
}

// TestOverloadNeverLosesAnAcknowledgedTx floods a small pool from many goroutines while
// blocks are reaped and committed, and checks that every tx acknowledged with code 0 is
// committed exactly once: acknowledged-but-never-committed must be 0.
func TestOverloadNeverLosesAnAcknowledgedTx(t *testing.T) {
	cfg := defaultConfig()
	cfg.Size = 50
	pool := New(cfg, kvstoreConn(t))
	ctx := context.Background()

	var acked sync.Map
	var ackCount, fullCount atomic.Int64
	var senders sync.WaitGroup
	for w := 0; w < 16; w++ {
		senders.Add(1)
		go func(w int) {
			defer senders.Done()
			for i := 0; i < 150; i++ {
				tx := []byte(fmt.Sprintf("w%d-%d=v", w, i))
				res, err := pool.CheckTx(ctx, tx)
				var full cmtmempool.ErrMempoolIsFull
				switch {
				case errors.As(err, &full):
					fullCount.Add(1)
				case err != nil:
					t.Error(err)
				case res.Code == abci.CodeTypeOK:
					acked.Store(string(tx), true)
					ackCount.Add(1)
				}
			}
		}(w)
	}
	done := make(chan struct{})
	go func() { senders.Wait(); close(done) }()

	committed := map[string]int{}
	commitRound := func() {
		block, _ := pool.Reap(1<<20, 20)
		for _, tx := range block {
			committed[string(tx)]++
		}
		if _, err := pool.Update(ctx, block); err != nil {
			t.Error(err)
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			commitRound()
		}
	}
	for pool.Size() > 0 {
		commitRound()
	}
	if fullCount.Load() == 0 {
		t.Fatal("the pool never filled up: the test did not overload it")
	}
	lost := 0
	acked.Range(func(k, _ any) bool {
		if committed[k.(string)] != 1 {
			lost++
		}
		return true
	})
	if lost != 0 || int64(len(committed)) != ackCount.Load() {
		t.Fatalf("acknowledged %d, committed %d distinct, %d acknowledged txs not committed exactly once",
			ackCount.Load(), len(committed), lost)
	}
	t.Logf("acknowledged %d, refused as full %d, acknowledged-but-never-committed 0", ackCount.Load(), fullCount.Load())
}

func TestReapKeepsArrivalOrderAndReturnReproposes(t *testing.T) {
	pool := New(defaultConfig(), kvstoreConn(t))
	for i := 0; i < 5; i++ {
		if _, err := pool.CheckTx(context.Background(), []byte("k"+strconv.Itoa(i)+"=v")); err != nil {
			t.Fatal(err)
		}
	}
	first, _ := pool.Reap(9, 0) // room for two 4-byte txs only
	if len(first) != 2 || string(first[0]) != "k0=v" || string(first[1]) != "k1=v" {
		t.Fatalf("first reap %q", first)
	}
	second, _ := pool.Reap(1<<20, 0)
	if len(second) != 3 || string(second[0]) != "k2=v" {
		t.Fatalf("second reap %q: in-flight txs must not be reaped twice", second)
	}
	pool.Return(first)
	again, _ := pool.Reap(1<<20, 0)
	if len(again) != 2 || string(again[0]) != "k0=v" {
		t.Fatalf("returned txs not reproposed in order: %q", again)
	}
}

func TestCommittedTxsAreRefusedAsDuplicates(t *testing.T) {
	pool := New(defaultConfig(), kvstoreConn(t))
	ctx := context.Background()
	if _, err := pool.CheckTx(ctx, []byte("x=1")); err != nil {
		t.Fatal(err)
	}
	reaped, _ := pool.Reap(1<<20, 0)
	if _, err := pool.Update(ctx, reaped); err != nil {
		t.Fatal(err)
	}
	if pool.Size() != 0 {
		t.Fatal("committed tx still pending")
	}
	if _, err := pool.CheckTx(ctx, []byte("x=1")); !errors.Is(err, cmtmempool.ErrTxInCache) {
		t.Fatalf("resubmitted committed tx: got %v", err)
	}
}

// sequenceApp accepts "account/nonce" only while nonce is above the account's committed
// nonce: a real app whose verdict changes after a block, as a Cosmos SDK account's does.
type sequenceApp struct {
	mu        sync.Mutex
	committed map[string]int
}

func (a *sequenceApp) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	acct, nonceText, ok := strings.Cut(string(req.Tx), "/")
	nonce, err := strconv.Atoi(nonceText)
	if !ok || err != nil {
		return &abci.ResponseCheckTx{Code: 1, Log: "want account/nonce"}, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if nonce <= a.committed[acct] {
		return &abci.ResponseCheckTx{Code: 2, Log: "nonce already used"}, nil
	}
	return &abci.ResponseCheckTx{}, nil
}

func (a *sequenceApp) Error() error { return nil }

func TestRecheckDropsWhatBecameInvalid(t *testing.T) {
	app := &sequenceApp{committed: map[string]int{}}
	pool := New(defaultConfig(), app)
	ctx := context.Background()
	for _, tx := range []string{"alice/1", "bob/1", "alice/2"} {
		if res, err := pool.CheckTx(ctx, []byte(tx)); err != nil || res.Code != 0 {
			t.Fatalf("%s: %v %v", tx, res, err)
		}
	}
	// Another validator's block used alice's nonces 1 and 2 with other transactions.
	app.mu.Lock()
	app.committed["alice"] = 2
	app.mu.Unlock()
	dropped, err := pool.Update(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 2 || pool.Size() != 1 || string(pool.Pending(0)[0]) != "bob/1" {
		t.Fatalf("dropped %q, pending %q", dropped, pool.Pending(0))
	}
}

// TestBrokenAppConnectionIsAnError runs kvstore as a real socket app behind a relay,
// cuts the connection, and checks that the pool reports the broken connection instead of
// admitting or silently refusing.
func TestBrokenAppConnectionIsAnError(t *testing.T) {
	appAddr := freeAddress(t)
	server := abciserver.NewSocketServer("tcp://"+appAddr, kvstore.NewInMemoryApplication())
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = server.Stop() }()

	relay, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			down, err := relay.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", appAddr)
			if err != nil {
				down.Close()
				return
			}
			mu.Lock()
			conns = append(conns, down, up)
			mu.Unlock()
			go func() { _, _ = io.Copy(up, down) }()
			go func() { _, _ = io.Copy(down, up) }()
		}
	}()
	cutConnections := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}

	client := abcicli.NewSocketClient("tcp://"+relay.Addr().String(), true)
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Stop() }()
	pool := New(defaultConfig(), proxy.NewAppConnMempool(client, proxy.NopMetrics()))
	if res, err := pool.CheckTx(context.Background(), []byte("a=1")); err != nil || res.Code != 0 {
		t.Fatalf("before the cut: %v %v", res, err)
	}
	cutConnections()
	select {
	case <-client.Quit():
	case <-time.After(10 * time.Second):
		t.Fatal("the socket client did not notice the dropped connection")
	}
	_, err = pool.CheckTx(context.Background(), []byte("b=1"))
	if !errors.Is(err, ErrAppFailed) {
		t.Fatalf("got %v", err)
	}
	if pool.Size() != 1 {
		t.Fatal("tx admitted without the app's verdict")
	}
}

func freeAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func BenchmarkCheckTxKVStore(b *testing.B) {
	cfg := defaultConfig()
	cfg.Size = b.N + 1
	cfg.MaxTxsBytes = 1 << 40
	cfg.CacheSize = b.N + 1
	pool := New(cfg, kvstoreConn(b))
	txs := make([][]byte, b.N)
	for i := range txs {
		txs[i] = []byte(fmt.Sprintf("key%090d=v", i)) // ~100 bytes, as in the CometBFT figures
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pool.CheckTx(ctx, txs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRecheckSeesInFlightTransactions: a transaction reaped into one of our blocks is
// rechecked (so an app's pending view keeps it) and kept even if the app now refuses it,
// while a refused one not in flight is dropped.
func TestRecheckSeesInFlightTransactions(t *testing.T) {
	app := &sequenceApp{committed: map[string]int{}}
	pool := New(defaultConfig(), &countingApp{sequenceApp: app})
	ctx := context.Background()
	for _, tx := range []string{"alice/1", "alice/2"} {
		if res, err := pool.CheckTx(ctx, []byte(tx)); err != nil || res.Code != 0 {
			t.Fatalf("%s: %v %v", tx, res, err)
		}
	}
	if got, _ := pool.Reap(1<<20, 1); len(got) != 1 || string(got[0]) != "alice/1" {
		t.Fatalf("reaped %q", got)
	}
	app.mu.Lock()
	app.committed["alice"] = 2 // both nonces used by others' transactions
	app.mu.Unlock()
	dropped, err := pool.Update(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	counting := pool.app.(*countingApp)
	if counting.rechecks != 2 {
		t.Fatalf("%d rechecks, want both transactions rechecked", counting.rechecks)
	}
	if len(dropped) != 1 || string(dropped[0]) != "alice/2" || pool.Size() != 1 || string(pool.Pending(0)[0]) != "alice/1" {
		t.Fatalf("dropped %q, pending %q: want alice/2 dropped and the in-flight alice/1 kept", dropped, pool.Pending(0))
	}
}

// countingApp counts rechecks.
type countingApp struct {
	*sequenceApp
	rechecks int
}

func (a *countingApp) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	if req.Type == abci.CheckTxType_Recheck {
		a.rechecks++
	}
	return a.sequenceApp.CheckTx(ctx, req)
}

// gateApp records the CheckTx calls it sees, New and Recheck, in order.
type gateApp struct {
	mu    sync.Mutex
	calls []string
}

func (a *gateApp) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, fmt.Sprintf("%s:%s", req.Type, req.Tx))
	return &abci.ResponseCheckTx{}, nil
}

func (a *gateApp) Error() error { return nil }

func (a *gateApp) seen() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.calls, " ")
}

// While the executor holds the pool's lock (from just before the app's Commit until Update
// rechecked the pool), a client's transaction waits: the app sees the recheck first, then
// the new transaction, never the new one in between (it would be checked twice against the
// same fresh state, and a stateful app drops the second check).
func TestNewTransactionsWaitForTheRecheck(t *testing.T) {
	app := &gateApp{}
	pool := New(defaultConfig(), app)
	ctx := context.Background()
	if _, err := pool.CheckTx(ctx, []byte("a=1")); err != nil {
		t.Fatal(err)
	}
	pool.Lock()
	done := make(chan error, 1)
	go func() {
		_, err := pool.CheckTx(ctx, []byte("b=2"))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if got := app.seen(); strings.Contains(got, "b=2") {
		t.Fatalf("a new transaction reached the app while the pool was locked: %s", got)
	}
	if _, err := pool.Update(ctx, nil); err != nil {
		t.Fatal(err)
	}
	pool.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := app.seen(), "NEW:a=1 RECHECK:a=1 NEW:b=2"; got != want {
		t.Fatalf("the app saw %q, want %q", got, want)
	}
}

// A relayed transaction another validator is meant to propose is a fallback: in the pool
// (the app's check state saw it) but never reaped; the core learns of it in admission
// order, and of its removal when a recheck drops it. A transaction to propose carries the
// number of fallbacks admitted before it.
func TestRelayedFallbacksAreKeptNotReaped(t *testing.T) {
	app := &sequenceApp{committed: map[string]int{}}
	pool := New(defaultConfig(), app)
	ctx := context.Background()
	owner := []byte("the owner's public key")
	admit := func(tx string, relayed, propose bool) {
		t.Helper()
		var res *abci.ResponseCheckTx
		var err error
		if relayed {
			res, err = pool.CheckRelayed(ctx, []byte(tx), owner, propose)
		} else {
			res, err = pool.CheckTx(ctx, []byte(tx))
		}
		if err != nil || res.Code != 0 {
			t.Fatalf("%s: %v %v", tx, res, err)
		}
	}
	admit("alice/1", true, false) // fallback 1
	admit("bob/1", false, false)  // ours, after one fallback
	admit("carol/1", true, false) // fallback 2
	admit("dave/1", true, true)   // relayed to us as its owner: ours, after two
	if _, err := pool.CheckRelayed(ctx, []byte("alice/1"), owner, false); !errors.Is(err, cmtmempool.ErrTxInCache) {
		t.Fatalf("a fallback relayed again: %v, want the cache's refusal (relay loops end there)", err)
	}
	txs, after := pool.Reap(1<<20, 0)
	if len(txs) != 2 || string(txs[0]) != "bob/1" || string(txs[1]) != "dave/1" || after != 2 {
		t.Fatalf("reaped %q after %d fallbacks, want bob/1 dave/1 after 2", txs, after)
	}
	if pool.Size() != 4 || !pool.Has([]byte("alice/1")) {
		t.Fatalf("pool holds %d, has alice/1 %v: fallbacks must stay pending", pool.Size(), pool.Has([]byte("alice/1")))
	}
	added, dropped := pool.TakeRelayed()
	if len(added) != 2 || added[0].Seq != 1 || string(added[0].Tx) != "alice/1" || added[1].Seq != 2 ||
		string(added[1].Owner) != string(owner) || len(dropped) != 0 {
		t.Fatalf("TakeRelayed: %+v dropped %v", added, dropped)
	}
	if added, dropped := pool.TakeRelayed(); len(added)+len(dropped) != 0 {
		t.Fatalf("a second TakeRelayed returned %+v %v", added, dropped)
	}
	app.mu.Lock()
	app.committed["carol"] = 1 // another block used carol's nonce
	app.mu.Unlock()
	if _, err := pool.Update(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, dropped := pool.TakeRelayed(); len(dropped) != 1 || dropped[0] != 2 {
		t.Fatalf("dropped fallbacks %v, want [2]", dropped)
	}
}

// A fallback a block committed is reported dropped, as one the recheck refused is: the
// relay may have reached the core after it ordered the transaction, and nothing else would
// tell it the fallback is settled.
func TestCommittedFallbackIsReportedDropped(t *testing.T) {
	pool := New(defaultConfig(), &sequenceApp{committed: map[string]int{}})
	ctx := context.Background()
	for _, tx := range []string{"alice/1", "bob/1"} {
		if res, err := pool.CheckRelayed(ctx, []byte(tx), []byte("owner"), false); err != nil || res.Code != 0 {
			t.Fatalf("%s: %v %v", tx, res, err)
		}
	}
	if added, _ := pool.TakeRelayed(); len(added) != 2 {
		t.Fatalf("admitted %+v, want two fallbacks", added)
	}
	if _, err := pool.Update(ctx, [][]byte{[]byte("bob/1")}); err != nil {
		t.Fatal(err)
	}
	if added, dropped := pool.TakeRelayed(); len(added) != 0 || len(dropped) != 1 || dropped[0] != 2 {
		t.Fatalf("after committing bob/1: added %+v, dropped %v, want dropped [2]", added, dropped)
	}
}
