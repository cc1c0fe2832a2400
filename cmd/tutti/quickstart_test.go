package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	lnet "github.com/tutti-bft/tutti/testnet/localnet"
)

// quickStartCommands returns the shell commands of the README's quick start block.
func quickStartCommands(t *testing.T, readme string) []string {
	t.Helper()
	_, after, ok := strings.Cut(readme, "## Quick start")
	if !ok {
		t.Fatal("README has no Quick start section")
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatal("Quick start has no sh block")
	}
	block, _, _ = strings.Cut(block, "```")
	var cmds []string
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		cmd, _, _ := strings.Cut(line, "#")
		cmds = append(cmds, strings.TrimSpace(cmd))
	}
	return cmds
}

// TestReadmeQuickStart holds the README to its promise: exactly two commands, the second is
// what CI runs, and the first really runs the whole loop from this checkout. `make
// localnet` (with a 15 s DURATION and free ports) builds, generates a 4-validator ledger
// network, starts it, sends ledger transfers with the live line, stops every node and
// prints the summary: transfers committed, and none that a node accepted left uncommitted
// or committed twice.
func TestReadmeQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs make localnet: 4 node processes and a load for about 30 s")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not installed; .ci/run installs it")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := quickStartCommands(t, string(readme))
	if len(cmds) != 2 {
		t.Fatalf("quick start has %d commands, want exactly 2: %q", len(cmds), cmds)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	// CI runs the README's test command as one of its own lines (other CI-only steps, such
	// as the Docker network where docker exists, may follow it).
	if !slices.Contains(strings.Split(string(ci), "\n"), cmds[1]) {
		t.Fatalf(".ci/run has no line %q, the README's test command", cmds[1])
	}
	if cmds[0] != "make localnet" {
		t.Fatalf("main command is %q; update this test with what it should produce", cmds[0])
	}
	base, err := lnet.FreePortBase(40000+os.Getpid()%1000*10, 4)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	cmd := exec.Command("make", "-C", root, "localnet", "LOCALNET_DIR="+filepath.Join(dir, "net"), "DURATION=15s",
		"RATE=100", fmt.Sprintf("LOCALNET_FLAGS=--starting-port %d --drain 10s --json %s", base, report))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make localnet: %v\n%s", err, out)
	}
	t.Logf("make localnet:\n%s", out)
	for _, want := range []string{"started 4 validators", "committed", "load summary", "stopping 4 nodes"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("make localnet printed no %q", want)
		}
	}
	for i := 0; i < 4; i++ {
		for _, f := range []string{"config/genesis.json", "config/priv_validator_key.json", "node.log"} {
			if _, err := os.Stat(filepath.Join(dir, "net", fmt.Sprintf("node%d", i), f)); err != nil {
				t.Fatalf("make localnet left no %s for node%d", f, i)
			}
		}
	}
	r := readLoadReport(t, report)
	if r.Counts.Committed == 0 || r.Counts.Committed-r.Counts.CommittedFailed == 0 {
		t.Fatalf("no transfer committed: %+v", r.Counts)
	}
	if r.Counts.NeverCommitted != 0 {
		t.Fatalf("%d transfers a node accepted were never committed: %v", r.Counts.NeverCommitted, r.NeverCommittedTxs)
	}
	if r.Counts.CommittedTwice != 0 {
		t.Fatalf("%d transfers committed at two heights", r.Counts.CommittedTwice)
	}
}
