package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/engine/genesis"
	"github.com/tutti-bft/tutti/engine/version"
)

// run executes the CLI in process and returns what it printed.
func run(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		t.Fatalf("tutti %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInitWritesCometBFTFilesThatCometBFTLoads(t *testing.T) {
	home := t.TempDir()
	run(t, "init", "--home", home, "--chain-id", "init-test", "--moniker", "alice")
	for _, f := range []string{"config/config.toml", "config/genesis.json", "config/node_key.json",
		"config/priv_validator_key.json", "data/priv_validator_state.json"} {
		if _, err := os.Stat(filepath.Join(home, f)); err != nil {
			t.Fatalf("init did not write %s: %v", f, err)
		}
	}
	// Every file is read back with cometbft's own loaders.
	nodeKey, err := p2p.LoadNodeKey(filepath.Join(home, "config/node_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	pv := privval.LoadFilePV(filepath.Join(home, "config/priv_validator_key.json"), filepath.Join(home, "data/priv_validator_state.json"))
	doc, err := cmttypes.GenesisDocFromFile(filepath.Join(home, "config/genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if doc.ChainID != "init-test" || len(doc.Validators) != 1 || !doc.Validators[0].PubKey.Equals(pv.Key.PubKey) {
		t.Fatalf("genesis: %+v", doc)
	}
	cfg, err := config.Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Moniker != "alice" {
		t.Fatalf("moniker %q", cfg.Moniker)
	}
	if _, err := genesis.Load(cfg.GenesisFile()); err != nil {
		t.Fatal(err)
	}

	if got := strings.TrimSpace(run(t, "show-node-id", "--home", home)); got != string(nodeKey.ID()) {
		t.Fatalf("show-node-id printed %q, cometbft derives %q", got, nodeKey.ID())
	}
	wantPub, err := cmtjson.Marshal(pv.Key.PubKey)
	if err != nil {
		t.Fatal(err)
	}
	gotPub := strings.TrimSpace(run(t, "show-validator", "--home", home))
	if gotPub != string(wantPub) || !strings.HasPrefix(gotPub, `{"type":"tendermint/PubKeyEd25519","value":"`) {
		t.Fatalf("show-validator printed %s, want %s", gotPub, wantPub)
	}
}

func TestInitAgainNeverOverwritesKeys(t *testing.T) {
	home := t.TempDir()
	run(t, "init", "--home", home)
	files := []string{"config/node_key.json", "config/priv_validator_key.json", "config/genesis.json", "config/config.toml"}
	before := map[string][]byte{}
	for _, f := range files {
		before[f] = readFile(t, filepath.Join(home, f))
	}
	run(t, "init", "--home", home, "--chain-id", "other", "--moniker", "other")
	for _, f := range files {
		if !bytes.Equal(before[f], readFile(t, filepath.Join(home, f))) {
			t.Fatalf("second init changed %s", f)
		}
	}
}

func TestHomeFromEnvironment(t *testing.T) {
	home := t.TempDir()
	t.Setenv(homeEnv, home)
	run(t, "init")
	key, err := p2p.LoadNodeKey(filepath.Join(home, "config/node_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(run(t, "show-node-id")); got != string(key.ID()) {
		t.Fatalf("got %q want %q", got, key.ID())
	}
}

func TestUnsafeResetAllKeepsKeysAndResetsSigningState(t *testing.T) {
	home := t.TempDir()
	run(t, "init", "--home", home)
	keyFile := filepath.Join(home, "config/priv_validator_key.json")
	stateFile := filepath.Join(home, "data/priv_validator_state.json")
	// Pretend the validator signed at height 42 and wrote some chain data.
	pv := privval.LoadFilePV(keyFile, stateFile)
	pv.LastSignState.Height = 42
	pv.LastSignState.Save()
	junk := filepath.Join(home, "data", "blockstore.db")
	if err := os.MkdirAll(junk, 0o700); err != nil {
		t.Fatal(err)
	}
	keyBefore := readFile(t, keyFile)

	run(t, "unsafe-reset-all", "--home", home)

	if _, err := os.Stat(junk); !os.IsNotExist(err) {
		t.Fatal("chain data survived the reset")
	}
	if !bytes.Equal(keyBefore, readFile(t, keyFile)) {
		t.Fatal("reset changed the validator key")
	}
	after := privval.LoadFilePV(keyFile, stateFile)
	if after.LastSignState.Height != 0 {
		t.Fatalf("signing state height %d after reset", after.LastSignState.Height)
	}
	if _, err := config.Load(home); err != nil {
		t.Fatalf("config lost: %v", err)
	}
}

func TestVersionIsBare(t *testing.T) {
	if got := run(t, "version"); got != version.Tutti+"\n" {
		t.Fatalf("version printed %q", got)
	}
}

func TestTestnetHomesAreConsistent(t *testing.T) {
	dir := t.TempDir()
	const n = 4
	run(t, "testnet", "--v", "4", "--o", dir, "--chain-id", "tn", "--starting-port", "36656")

	var genesisBytes []byte
	ids := map[string]int{}     // node ID -> node index
	p2pAddr := map[int]string{} // node index -> host:port
	ports := map[string]string{}
	cfgs := make([]*config.Config, n)
	for i := 0; i < n; i++ {
		home := filepath.Join(dir, "node"+string(rune('0'+i)))
		cfg, err := config.Load(home)
		if err != nil {
			t.Fatal(err)
		}
		cfgs[i] = cfg
		g := readFile(t, cfg.GenesisFile())
		if genesisBytes == nil {
			genesisBytes = g
		} else if !bytes.Equal(g, genesisBytes) {
			t.Fatalf("node%d has a different genesis", i)
		}
		key, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
		if err != nil {
			t.Fatal(err)
		}
		ids[string(key.ID())] = i
		p2pAddr[i] = strings.TrimPrefix(cfg.P2P.ListenAddress, "tcp://")
		for _, addr := range []string{cfg.P2P.ListenAddress, cfg.RPC.ListenAddress, cfg.Instrumentation.PrometheusListenAddr} {
			port := addr[strings.LastIndex(addr, ":")+1:]
			if owner, dup := ports[port]; dup {
				t.Fatalf("port %s used by %s and node%d", port, owner, i)
			}
			ports[port] = "node" + string(rune('0'+i))
		}
	}
	if len(ids) != n {
		t.Fatalf("%d distinct node IDs, want %d", len(ids), n)
	}
	doc, err := genesis.Parse(genesisBytes)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ChainID != "tn" || len(doc.Validators) != n {
		t.Fatalf("genesis chain %q with %d validators", doc.ChainID, len(doc.Validators))
	}
	for i, cfg := range cfgs {
		pv := privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
		if !doc.Validators[i].PubKey.Equals(pv.Key.PubKey) {
			t.Fatalf("genesis validator %d is not node%d's key", i, i)
		}
		peers := config.SplitList(cfg.P2P.PersistentPeers)
		if len(peers) != n-1 {
			t.Fatalf("node%d has %d peers", i, len(peers))
		}
		for _, p := range peers {
			id, addr, _ := strings.Cut(p, "@")
			j, known := ids[id]
			if !known || j == i {
				t.Fatalf("node%d peer %s is not another node", i, p)
			}
			if addr != p2pAddr[j] {
				t.Fatalf("node%d dials node%d at %s, but it listens on %s", i, j, addr, p2pAddr[j])
			}
		}
	}
}
