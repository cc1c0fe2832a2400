package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/engine/genesis"
	"github.com/tutti-bft/tutti/p2p"
)

// testPeer is a p2p endpoint of the test, a non-validator peer of the network's chain.
type testPeer struct {
	sw   *p2p.Switch
	id   p2p.ID // the node it talks to
	addr string // that node's ID@host:port
	ctx  context.Context
}

// newTestPeer starts a test peer aimed at node i; connectTestPeer also connects it.
func newTestPeer(t *testing.T, ln *localnet, i int) *testPeer {
	t.Helper()
	gen, err := genesis.Load(filepath.Join(ln.homes[i], "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(ln.homes[i])
	if err != nil {
		t.Fatal(err)
	}
	id, err := exec.Command(ln.bin, "show-node-id", "--home", ln.homes[i]).Output()
	if err != nil {
		t.Fatal(err)
	}
	target := p2p.ID(strings.TrimSpace(string(id)))
	pcfg := p2p.DefaultConfig(gen.ChainID)
	pcfg.Moniker, pcfg.ListenAddress = "test-peer", "127.0.0.1:0"
	sw, err := p2p.New(pcfg, &p2p.NodeKey{PrivKey: ed25519.GenPrivKey()}, p2p.Handlers{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := sw.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Stop(); cancel() })
	return &testPeer{sw: sw, id: target, addr: string(target) + "@" + strings.TrimPrefix(cfg.P2P.ListenAddress, "tcp://"), ctx: ctx}
}

func connectTestPeer(t *testing.T, ln *localnet, i int) *testPeer {
	t.Helper()
	p := newTestPeer(t, ln, i)
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := p.sw.Connect(p.ctx, p.addr)
		if err == nil {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect to node %d: %v", i, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
