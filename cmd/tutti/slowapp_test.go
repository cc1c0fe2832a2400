package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	"github.com/cometbft/cometbft/abci/server"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
	"github.com/tutti-bft/tutti/p2p"
)

// slowKVStore is CometBFT's kvstore with every FinalizeBlock taking delay longer.
type slowKVStore struct {
	*kvstore.Application
	delay time.Duration
}

func (a *slowKVStore) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	time.Sleep(a.delay)
	return a.Application.FinalizeBlock(ctx, req)
}

// serveSlowKVStore serves a slowKVStore over the ABCI socket from this test process.
func serveSlowKVStore(t *testing.T, delay time.Duration) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "tcp://" + l.Addr().String()
	l.Close()
	srv, err := server.NewServer(addr, "socket", &slowKVStore{Application: kvstore.NewInMemoryApplication(), delay: delay})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return addr
}

// setConfig rewrites keys of a node's config.toml (key -> TOML value).
func setConfig(t *testing.T, home string, kv map[string]string) {
	t.Helper()
	path := filepath.Join(home, "config", "config.toml")
	bz, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(k) + ` = .*$`)
		if !re.Match(bz) {
			t.Fatalf("%s has no key %s", path, k)
		}
		bz = re.ReplaceAll(bz, []byte(k+" = "+v))
	}
	if err := os.WriteFile(path, bz, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A validator whose app is slow comes back after more than 1,000 DAG rounds away: while
// it works through the backlog at its app's pace, its peers' new blocks pile up suspended
// above the gap, and they are released together once the gap fills, hundreds of heights
// cut in one step. The loop must keep draining execution results while it hands them to
// the executor; if it waited on a full delivery queue inside that step it would never
// read a result again, the executor would wait on a full result queue, and the node would
// hang for good.
func TestSlowAppCatchesUpAcrossAThousandRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 node processes")
	}
	const slow = 3
	appAddr := serveSlowKVStore(t, 100*time.Millisecond)
	ln := newLocalnet(t, 4)
	for i, home := range ln.homes {
		// A height every few rounds, and rounds as fast as the host allows, so the gap
		// holds many heights and is made quickly.
		kv := map[string]string{"block_target_interval": `"1ms"`, "min_round_delay": `"5ms"`}
		if i == slow {
			kv["proxy_app"] = `"` + appAddr + `"`
		}
		setConfig(t, home, kv)
	}
	for i := range ln.homes {
		ln.start(i)
	}
	ln.waitHeight(all(4), 5, 60*time.Second)
	// A clean stop: the app lives on in this process, and a kill between its FinalizeBlock
	// and Commit would leave kvstore (whose height moves at FinalizeBlock) ahead of the store.
	ln.stop(slow)
	away := ln.height(0)
	// A height takes at least 4 rounds here (the cut waits for the attestations of the
	// height before), so 300 heights are more than 1,200 rounds.
	ln.waitHeight([]int{0, 1, 2}, away+300, 120*time.Second)
	back := ln.height(0)
	ln.start(slow)
	ln.waitHeight([]int{slow}, back+100, 120*time.Second)
	t.Logf("validator %d (FinalizeBlock 100 ms slower) was away from height %d to %d and reached %d (the others at %d)",
		slow, away, back, ln.height(slow), ln.height(0))
	for i := range ln.homes {
		ln.stop(i)
	}
	ln.checkStores(back)
}

// A validator far behind gets its peers' blocks top down, as answers to its fetches can
// arrive: every batch above the gap waits suspended for its parents, until the batch that
// fills the gap releases them all in one step, hundreds of heights cut at once. The loop
// must hand them to the executor without waiting on it inside that step: if it did, it
// would stop reading execution results, the executor would stop on a full result queue,
// and the node would hang for good.
func TestHundredsOfHeightsReleasedInOneStepAreExecuted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 node processes")
	}
	const behind = 3
	ln := newLocalnet(t, 4)
	for _, home := range ln.homes {
		// A height every few rounds (the cut waits only for the attestations of the height
		// before), so 900 rounds hold far more than the 130 heights that hung the old loop.
		setConfig(t, home, map[string]string{"block_target_interval": `"1ms"`})
	}
	for i := range ln.homes {
		ln.start(i)
	}
	ln.waitHeight(all(4), 5, 60*time.Second)
	ln.stop(behind)
	ln.waitHeight([]int{0, 1, 2}, ln.height(0)+250, 120*time.Second)
	for i := 0; i < 3; i++ {
		ln.stop(i)
	}
	from := ln.height(behind)
	var highest uint64
	held := map[types.Ref]bool{}
	for _, b := range ln.readStore(behind).blocks {
		highest = max(highest, b.Round)
		held[b.Ref()] = true
	}
	// The blocks it lacks, up to 900 rounds above its highest (the DAG keeps suspended
	// blocks up to 1,000 rounds above it), lowest round first.
	var gap []*types.Block
	for _, b := range ln.readStore(0).blocks {
		if b.Epoch == 0 && !held[b.Ref()] && b.Round <= highest+900 {
			gap = append(gap, b)
		}
	}
	sort.Slice(gap, func(i, j int) bool {
		if gap[i].Round != gap[j].Round {
			return gap[i].Round < gap[j].Round
		}
		return gap[i].Author < gap[j].Author
	})
	if len(gap) < 2000 {
		t.Fatalf("only %d blocks above round %d", len(gap), highest)
	}

	ln.start(behind) // alone: its peers are stopped
	peer := connectTestPeer(t, ln, behind)
	// Batches of 64 (a fetch answer's most), the highest first.
	var batches [][]*types.Block
	for i := 0; i < len(gap); i += 64 {
		batches = append(batches, gap[i:min(i+64, len(gap))])
	}
	for i := len(batches) - 1; i >= 0; i-- {
		bz, err := wire.Encode(wire.FetchResponseMessage(batches[i]))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = peer.sw.Send(ctx, peer.id, p2p.ChannelSync, bz)
		cancel()
		if err != nil {
			t.Fatalf("send batch %d: %v", i, err)
		}
	}
	want := from + 150
	ln.waitHeight([]int{behind}, want, 60*time.Second)
	t.Logf("validator %d, at height %d and round %d, got %d blocks (rounds %d-%d) highest first in %d answers, and executed up to height %d",
		behind, from, highest, len(gap), gap[0].Round, gap[len(gap)-1].Round, len(batches), ln.height(behind))
	ln.stop(behind)
}
