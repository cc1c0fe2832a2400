package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/config"
)

// TestCatchUpBeyondTheGCHorizon: a validator stopped for much longer than the GC horizon
// (gc_depth 50 rounds, about 2.5 s of rounds; it is away for about 40 heights) catches up
// when restarted, and a fifth node that is not a validator, started once the chain is past
// height 40, syncs from the genesis to the head. Both take the blocks their peers collected
// long ago from the peers' storage (sync requests), order them like everyone, and end with
// the same block and app hashes.
func TestCatchUpBeyondTheGCHorizon(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 5 node processes")
	}
	ln := newLocalnet(t, 4)
	for i := range ln.homes {
		ln.start(i)
	}
	ln.waitHeight(all(4), 5, 60*time.Second)

	ln.kill(3)
	away := ln.height(0)
	ln.waitHeight([]int{0, 1, 2}, away+40, 60*time.Second)
	ln.start(3)
	top := max(ln.height(0), ln.height(1), ln.height(2))
	ln.waitHeight(all(4), top+5, 60*time.Second)
	t.Logf("validator 3 was away from height %d to %d, and caught up", away, top)

	full := ln.addFullNode()
	ln.start(full)
	top = max(ln.height(0), ln.height(1), ln.height(2))
	ln.waitHeight([]int{full}, top, 60*time.Second)
	t.Logf("the full node started at height %d of the chain and reached it", top)

	for i := range ln.homes {
		ln.stop(i)
	}
	ln.checkStores(top)
}

// addFullNode writes the home of a node that is not a validator (its own keys, the
// network's genesis, the validators as persistent peers) and returns its index.
func (ln *localnet) addFullNode() int {
	ln.t.Helper()
	home := filepath.Join(filepath.Dir(ln.homes[0]), "fullnode")
	if out, err := exec.Command(ln.bin, "init", "--home", home, "--moniker", "fullnode").CombinedOutput(); err != nil {
		ln.t.Fatalf("tutti init: %v\n%s", err, out)
	}
	var peers []string
	for _, h := range ln.homes {
		id, err := exec.Command(ln.bin, "show-node-id", "--home", h).Output()
		if err != nil {
			ln.t.Fatal(err)
		}
		cfg, err := config.Load(h)
		if err != nil {
			ln.t.Fatal(err)
		}
		peers = append(peers, strings.TrimSpace(string(id))+"@"+strings.TrimPrefix(cfg.P2P.ListenAddress, "tcp://"))
	}
	validator, err := config.Load(ln.homes[0])
	if err != nil {
		ln.t.Fatal(err)
	}
	cfg, err := config.Load(home)
	if err != nil {
		ln.t.Fatal(err)
	}
	base := freePortBase(ln.t, 1)
	cfg.Consensus = validator.Consensus
	cfg.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", base)
	cfg.P2P.PersistentPeers = strings.Join(peers, ",")
	cfg.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", base+1)
	cfg.Instrumentation.Prometheus = false
	if err := config.Write(cfg); err != nil {
		ln.t.Fatal(err)
	}
	genesis, err := os.ReadFile(validator.GenesisFile())
	if err != nil {
		ln.t.Fatal(err)
	}
	if err := os.WriteFile(cfg.GenesisFile(), genesis, 0o600); err != nil {
		ln.t.Fatal(err)
	}
	return ln.addHome(home)
}
