package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	"github.com/cometbft/cometbft/abci/server"
	abci "github.com/cometbft/cometbft/abci/types"
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
