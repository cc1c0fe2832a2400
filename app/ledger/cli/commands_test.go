package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

func run(t *testing.T, home string, args ...string) (string, error) {
	t.Helper()
	cmd := Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append(args, "--home", home))
	err := cmd.Execute()
	return out.String(), err
}

const genesisPrefix = `{
  "genesis_time": "2026-11-22T00:00:00Z",
  "chain_id":   "odd-spacing",
  "initial_height": 1,
  "consensus_params": {"block": {"max_bytes": "22020096"}},
  "app_hash": "",
  "app_state": `

const genesisSuffix = `,
  "validators": [ ]
}
`

func TestGenesisAddAccountKeepsOtherBytes(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "config"), 0o755)
	os.WriteFile(genesisFile(home), []byte(genesisPrefix+`{"accounts": []}`+genesisSuffix), 0o644)
	a, b := tx.AddressFromPubKey([]byte("a")), tx.AddressFromPubKey([]byte("b"))
	for _, args := range [][]string{{a.String(), "100"}, {strings.ToLower(b.String()), "18446744073709551000"}} {
		if out, err := run(t, home, append([]string{"genesis", "add-account"}, args...)...); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	raw, _ := os.ReadFile(genesisFile(home))
	if !bytes.HasPrefix(raw, []byte(genesisPrefix)) || !bytes.HasSuffix(raw, []byte(genesisSuffix)) {
		t.Fatalf("bytes outside app_state changed:\n%s", raw)
	}
	var doc struct {
		AppState json.RawMessage `json:"app_state"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	accounts, supply, err := state.ParseGenesis(doc.AppState)
	if err != nil || len(accounts) != 2 || supply != 18446744073709551100 {
		t.Fatalf("app_state %s: %v", doc.AppState, err)
	}
	if _, err := run(t, home, "genesis", "add-account", a.String(), "1"); err == nil {
		t.Fatal("duplicate account accepted")
	}
	if _, err := run(t, home, "genesis", "add-account", tx.AddressFromPubKey([]byte("c")).String(), "1000"); err == nil {
		t.Fatal("supply overflow accepted")
	}
}

func TestGenesisAddAccountWithoutAppState(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "config"), 0o755)
	os.WriteFile(genesisFile(home), []byte("{\n  \"chain_id\": \"c\"\n}\n"), 0o644)
	a := tx.AddressFromPubKey([]byte("a"))
	if out, err := run(t, home, "genesis", "add-account", a.String(), "7"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	raw, _ := os.ReadFile(genesisFile(home))
	var doc struct {
		ChainID  string          `json:"chain_id"`
		AppState json.RawMessage `json:"app_state"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.ChainID != "c" {
		t.Fatalf("%v:\n%s", err, raw)
	}
	if accounts, _, err := state.ParseGenesis(doc.AppState); err != nil || accounts[a].Balance != 7 {
		t.Fatalf("%v %v", accounts, err)
	}
}

func TestKeysCommands(t *testing.T) {
	home := t.TempDir()
	out, err := run(t, home, "keys", "add", "alice")
	if err != nil || !strings.Contains(out, "alice\taddress ") {
		t.Fatalf("keys add: %v %s", err, out)
	}
	shown, err := run(t, home, "keys", "show", "alice")
	if err != nil || shown != out {
		t.Fatalf("keys show: %v %q vs %q", err, shown, out)
	}
	run(t, home, "keys", "add", "bob")
	listed, err := run(t, home, "keys", "list")
	if err != nil || strings.Count(listed, "\n") != 2 {
		t.Fatalf("keys list: %v %s", err, listed)
	}
	if _, err := run(t, home, "send", "--from", "nobody", "--to", tx.AddressFromPubKey(nil).String(), "--amount", "1"); err == nil {
		t.Fatal("send from a missing key succeeded")
	}
}

// TestCommandUnderARootWithHome mounts the ledger under a root that has its
// own persistent --home, as cmd/tutti does, and checks --home still reaches
// the subcommands.
func TestCommandUnderARootWithHome(t *testing.T) {
	home := t.TempDir()
	root := &cobra.Command{Use: "tutti"}
	root.PersistentFlags().String("home", "/nonexistent", "node home")
	root.AddCommand(Command())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"--home", home, "ledger", "keys", "add", "carol"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(keysDir(home), "carol.json")); err != nil {
		t.Fatalf("key not written under --home: %v", err)
	}
}
