package rpc_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/abci/conn"
	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/engine/node"
)

// testNode is one validator chain running in process, with its RPC on a free port.
type testNode struct {
	node   *node.Node
	cfg    *config.Config
	addr   string // host:port of the RPC
	url    string // http://host:port
	cancel context.CancelFunc
	done   chan error
}

// startNode writes a one-validator home (kvstore in process, empty blocks every 100 ms,
// every listener on a port the system picks), runs the node and waits for height 2. edit
// changes the configuration first.
func startNode(t testing.TB, edit func(*config.Config)) *testNode {
	t.Helper()
	return startNodeWithAppState(t, edit, nil)
}

// startNodeWithAppState is startNode with the genesis app_state given.
func startNodeWithAppState(t testing.TB, edit func(*config.Config), appState json.RawMessage) *testNode {
	t.Helper()
	cfg, pub := newHome(t, edit)
	gen := &cmttypes.GenesisDoc{GenesisTime: time.Now().UTC(), ChainID: "rpc-test-chain", InitialHeight: 1,
		ConsensusParams: cmttypes.DefaultConsensusParams(),
		Validators:      []cmttypes.GenesisValidator{{Address: pub.Address(), PubKey: pub, Power: 10, Name: "v0"}},
		AppState:        appState}
	if err := gen.SaveAs(cfg.GenesisFile()); err != nil {
		t.Fatal(err)
	}
	return runNode(t, cfg, 2)
}

// newHome writes a home without its genesis: the configuration of startNode (edited by
// edit), a validator key and a node key. It returns the validator's public key.
func newHome(t testing.TB, edit func(*config.Config)) (*config.Config, crypto.PubKey) {
	t.Helper()
	dir, err := os.MkdirTemp("", "tutti-rpc-test")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Home = dir
	cfg.Moniker = "rpc-test"
	cfg.P2P.ListenAddress = "tcp://127.0.0.1:0"
	cfg.RPC.ListenAddress = "tcp://127.0.0.1:0"
	cfg.Consensus.MaxEmptyBlockInterval = config.Duration(100 * time.Millisecond)
	cfg.ProxyApp = eventsKVStore
	cfg.LogLevel = "warn"
	if edit != nil {
		edit(cfg)
	}
	for _, d := range []string{filepath.Join(dir, config.DefaultConfigDir), cfg.DBPath()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	pv := privval.GenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	pv.Save()
	if _, err := cmtp2p.LoadOrGenNodeKey(cfg.NodeKeyFile()); err != nil {
		t.Fatal(err)
	}
	return cfg, pv.Key.PubKey
}

// runNode runs the node of a complete home and waits until its RPC serves and it has
// executed height h.
func runNode(t testing.TB, cfg *config.Config, h int64) *testNode {
	t.Helper()
	// The shared node outlives the test that starts it, so logs go to stderr, not t.Log.
	logger := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	n, err := node.Open(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &testNode{node: n, cfg: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { tn.done <- n.Run(ctx) }()
	deadline := time.Now().Add(15 * time.Second)
	for tn.addr = n.RPCAddr(); tn.addr == "" || n.Height() < h; tn.addr = n.RPCAddr() {
		select {
		case err := <-tn.done:
			t.Fatalf("node stopped before height %d: %v", h, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node at height %d after 15 s, want %d", n.Height(), h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tn.url = "http://" + tn.addr
	t.Cleanup(func() { tn.stop(t) })
	return tn
}

func (tn *testNode) stop(t testing.TB) {
	if tn.cancel == nil {
		return
	}
	tn.cancel()
	tn.cancel = nil
	if err := <-tn.done; err != nil {
		t.Errorf("node stopped with an error: %v", err)
	}
	tn.node.Close()
	_ = os.RemoveAll(tn.cfg.Home)
}

// client is cometbft's own HTTP and websocket client for the node.
func (tn *testNode) client(t testing.TB) *rpchttp.HTTP {
	t.Helper()
	c, err := rpchttp.New(tn.url, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitHeight waits until the node executed height h.
func (tn *testNode) waitHeight(t testing.TB, h int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tn.node.Height() < h {
		if time.Now().After(deadline) {
			t.Fatalf("node at height %d after 10 s, want %d", tn.node.Height(), h)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// shared is the node most tests talk to: one chain for the package keeps it fast.
var (
	sharedOnce sync.Once
	sharedNode *testNode
)

func shared(t *testing.T) *testNode {
	t.Helper()
	sharedOnce.Do(func() { sharedNode = startNode(&onceT{t}, nil) })
	if sharedNode == nil {
		t.Fatal("the shared node did not start")
	}
	return sharedNode
}

// onceT lets the shared node outlive the test that started it: its cleanup runs from
// TestMain instead.
type onceT struct{ *testing.T }

func (o *onceT) Cleanup(func()) {}

// eventsKVStore is CometBFT's kvstore with FinalizeBlock events on (begin_event.foo and
// .bar on every height), so block_search has app attributes to find.
const eventsKVStore = "kvstore-block-events"

func TestMain(m *testing.M) {
	conn.Builtins[eventsKVStore] = func(string) (abci.Application, error) {
		app := kvstore.NewInMemoryApplication()
		app.SetGenBlockEvents()
		return app, nil
	}
	code := m.Run()
	if sharedNode != nil {
		sharedNode.cancel()
		<-sharedNode.done
		sharedNode.node.Close()
		_ = os.RemoveAll(sharedNode.cfg.Home)
	}
	os.Exit(code)
}
