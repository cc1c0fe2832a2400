package rpc_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/app/ledger/cli"
	"github.com/tutti-bft/tutti/app/ledger/keys"
	"github.com/tutti-bft/tutti/engine/config"
)

// runLedger runs `tutti ledger ARGS...` in process and returns its output.
func runLedger(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := cli.Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestLedgerCommandsThroughRPC runs the ledger client commands (`tutti ledger send`,
// `tutti ledger balance --prove`) against a node running the ledger app: the transfer
// goes in through broadcast_tx_sync, and the proven balance is checked against the app
// hash of the next block's header, both served by this RPC.
func TestLedgerCommandsThroughRPC(t *testing.T) {
	keyHome := t.TempDir()
	if out, err := runLedger(t, "keys", "add", "alice", "--home", keyHome); err != nil {
		t.Fatalf("keys add: %v\n%s", err, out)
	}
	alice, err := keys.Load(filepath.Join(keyHome, "ledger-keys"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := keys.Add(filepath.Join(t.TempDir(), "ledger-keys"), "bob")
	if err != nil {
		t.Fatal(err)
	}
	appState := fmt.Sprintf(`{"accounts":[{"address":"%s","balance":"1000"}]}`, alice.Address())
	tn := startNodeWithAppState(t, func(c *config.Config) { c.ProxyApp = "ledger" }, []byte(appState))
	node := "--node=" + tn.url

	out, err := runLedger(t, "send", "--home", keyHome, "--from", "alice", "--to", bob.Address().String(),
		"--amount", "100", "--fee", "1", node)
	if err != nil || !strings.Contains(out, "accepted by the mempool") {
		t.Fatalf("ledger send: %v\n%s", err, out)
	}
	want := fmt.Sprintf("address %s balance 100 nonce 0", bob.Address())
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err = runLedger(t, "balance", bob.Address().String(), "--prove", node)
		if err == nil && strings.HasPrefix(out, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledger balance --prove: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out, "proof verified against app hash") {
		t.Errorf("balance --prove did not verify: %s", out)
	}
	out, err = runLedger(t, "balance", alice.Address().String(), "--prove", node)
	if err != nil || !strings.Contains(out, "balance 899 nonce 1") {
		t.Errorf("sender after the transfer: %v\n%s", err, out)
	}
}
