package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/app/ledger/keys"
	"github.com/tutti-bft/tutti/engine/config"
)

// TestLedgerCommandsAgainstFourValidators runs the ledger client commands of the built
// binary against a 4-validator network running the ledger app in process: `tutti ledger
// send` goes in through one node's RPC (broadcast_tx_sync), and `tutti ledger balance
// --prove` reads the result through another's, its Merkle proof checked against the app
// hash of the next block's header.
func TestLedgerCommandsAgainstFourValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 node processes")
	}
	ln := newLocalnet(t, 4, "--proxy_app", "ledger")
	keyHome := t.TempDir()
	ledger := func(args ...string) (string, error) {
		out, err := exec.Command(ln.bin, append([]string{"ledger"}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := ledger("keys", "add", "alice", "--home", keyHome); err != nil {
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
	for _, home := range ln.homes {
		setAppState(t, filepath.Join(home, "config", "genesis.json"), appState)
	}
	for i := range ln.homes {
		ln.start(i)
	}
	ln.waitHeight(all(4), 3, 60*time.Second)
	rpcOf := func(i int) string {
		cfg, err := config.Load(ln.homes[i])
		if err != nil {
			t.Fatal(err)
		}
		return "--node=" + cfg.RPC.ListenAddress
	}

	out, err := ledger("send", "--home", keyHome, "--from", "alice", "--to", bob.Address().String(),
		"--amount", "100", "--fee", "1", rpcOf(1))
	if err != nil || !strings.Contains(out, "accepted by the mempool") {
		t.Fatalf("ledger send through node 1: %v\n%s", err, out)
	}
	want := fmt.Sprintf("address %s balance 100 nonce 0", bob.Address())
	for deadline := time.Now().Add(30 * time.Second); ; {
		out, err = ledger("balance", bob.Address().String(), "--prove", rpcOf(2))
		if err == nil && strings.HasPrefix(out, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledger balance --prove through node 2: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out, "proof verified against app hash") {
		t.Fatalf("balance --prove did not verify: %s", out)
	}
	for _, i := range []int{0, 3} {
		out, err = ledger("balance", alice.Address().String(), "--prove", rpcOf(i))
		if err != nil || !strings.Contains(out, "balance 899 nonce 1") || !strings.Contains(out, "proof verified") {
			t.Fatalf("sender's balance through node %d: %v\n%s", i, err, out)
		}
	}
	for i := range ln.homes {
		ln.stop(i)
	}
	ln.checkStores(3)
}

// setAppState replaces the app_state of a genesis file, keeping every other field.
func setAppState(t *testing.T, path, appState string) {
	t.Helper()
	bz, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(bz, &doc); err != nil {
		t.Fatal(err)
	}
	doc["app_state"] = json.RawMessage(appState)
	if bz, err = json.MarshalIndent(doc, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bz, 0o600); err != nil {
		t.Fatal(err)
	}
}
