package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
// what CI runs, and the first really produces a 4-validator network from this checkout.
func TestReadmeQuickStart(t *testing.T) {
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
	lines := strings.Split(strings.TrimSpace(string(ci)), "\n")
	if last := lines[len(lines)-1]; last != cmds[1] {
		t.Fatalf(".ci/run ends with %q, but the README's test command is %q", last, cmds[1])
	}
	if cmds[0] != "make localnet" {
		t.Fatalf("main command is %q; update this test with what it should produce", cmds[0])
	}
	dir := t.TempDir()
	out, err := exec.Command("make", "-C", root, "localnet", "LOCALNET_DIR="+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make localnet: %v\n%s", err, out)
	}
	for i := 0; i < 4; i++ {
		for _, f := range []string{"config/config.toml", "config/genesis.json", "config/node_key.json", "config/priv_validator_key.json"} {
			if _, err := os.Stat(filepath.Join(dir, "node"+string(rune('0'+i)), f)); err != nil {
				t.Fatalf("make localnet did not produce %s for node%d", f, i)
			}
		}
	}
}
