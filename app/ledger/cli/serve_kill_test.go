package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

const serveChildEnv = "LEDGER_SERVE_CHILD" // "home|address"

// serveChild is the out-of-process ledger: the test binary re-executed,
// serving until it is killed.
func serveChild(t *testing.T, spec string) {
	home, addr, _ := strings.Cut(spec, "|")
	if _, _, err := startServer(home, serveOptions{address: addr, transport: "socket", keepVersions: 10}, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	select {} // until SIGKILL
}

func startServeChild(t *testing.T, home, addr string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeProcessSurvivesKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+home+"|"+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func connect(t *testing.T, addr string) abcicli.Client {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := abcicli.NewSocketClient(addr, true)
		if err := c.Start(); err == nil {
			t.Cleanup(func() { c.Stop() })
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal("the served ledger never accepted a connection")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeProcessSurvivesKill9 runs `serve` as a separate process, drives it
// over the ABCI socket and kills it with SIGKILL right after a Commit returned
// and right after a FinalizeBlock without Commit: on restart Info reports
// exactly the last committed height and app hash, and the lost block replays
// to the same app hash.
func TestServeProcessSurvivesKill9(t *testing.T) {
	if spec := os.Getenv(serveChildEnv); spec != "" {
		serveChild(t, spec)
		return
	}
	home, addr := t.TempDir(), "tcp://"+freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := ed25519.GenPrivKeyFromSecret([]byte("alice"))
	aliceAddr := tx.AddressFromPubKey(alice.PubKey().Bytes())
	bob := tx.AddressFromPubKey([]byte("bob"))
	block := func(nonce uint64) [][]byte {
		raw, err := tx.Sign(alice, tx.Transfer{ChainId: "kill-test", To: bob[:], Amount: 5, Nonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		return [][]byte{raw}
	}

	child := startServeChild(t, home, addr)
	c := connect(t, addr)
	appState, _ := json.Marshal(state.Genesis{Accounts: []state.GenesisAccount{{Address: aliceAddr.String(), Balance: "100"}}})
	if _, err := c.InitChain(ctx, &abci.RequestInitChain{ChainId: "kill-test", InitialHeight: 1, AppStateBytes: appState}); err != nil {
		t.Fatal(err)
	}
	var committed []byte
	for h := int64(1); h <= 3; h++ {
		fin, err := c.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Txs: block(uint64(h - 1))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Commit(ctx, &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
		committed = fin.AppHash
	}
	// Crash point 1: just after Commit returned.
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	c.Stop()
	child = startServeChild(t, home, addr)
	c = connect(t, addr)
	info, err := c.Info(ctx, &abci.RequestInfo{})
	if err != nil || info.LastBlockHeight != 3 || string(info.LastBlockAppHash) != string(committed) {
		t.Fatalf("after kill -9 post-commit: Info %v %v, want height 3", info, err)
	}
	// Crash point 2: FinalizeBlock done, Commit never sent.
	lost, err := c.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 4, Txs: block(3)})
	if err != nil {
		t.Fatal(err)
	}
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	c.Stop()
	startServeChild(t, home, addr)
	c = connect(t, addr)
	info, err = c.Info(ctx, &abci.RequestInfo{})
	if err != nil || info.LastBlockHeight != 3 || string(info.LastBlockAppHash) != string(committed) {
		t.Fatalf("after kill -9 between FinalizeBlock and Commit: Info %v %v, want height 3", info, err)
	}
	replayed, err := c.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 4, Txs: block(3)})
	if err != nil || string(replayed.AppHash) != string(lost.AppHash) || replayed.TxResults[0].Code != 0 {
		t.Fatalf("replay of the lost block: %v %v", replayed, err)
	}
}
