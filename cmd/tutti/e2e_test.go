package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tutti-bft/tutti/testnet/e2e"
)

// TestE2EManifests runs the manifests CI runs with the built binary, as an operator would
// (`tutti e2e MANIFEST`): the fault scenarios, with the app in process and as external
// `abci-cli kvstore` processes over a socket, and with f twins equivocating, must pass
// every checker after every fault, and the planted fault (more than f byzantine validators, as twins on two sides of a
// partition) must fail, naming agreement (S1).
func TestE2EManifests(t *testing.T) {
	if testing.Short() {
		t.Skip("runs networks of real processes for about two minutes")
	}
	bin := tuttiBinary(t)
	for _, c := range []struct {
		manifest string
		violated string // "" when the run must pass
	}{
		{"ci", ""},
		{"ci-truncate", ""},
		{"external-kvstore", ""},
		{"twins-tolerated", ""},
		{"twins-fork", "S1"},
	} {
		t.Run(c.manifest, func(t *testing.T) {
			path := filepath.Join("..", "..", "testnet", "e2e", "manifests", c.manifest+".toml")
			m, err := e2e.LoadManifest(path)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			report := filepath.Join(dir, "result.json")
			cmd := exec.Command(bin, "e2e", path, "--dir", filepath.Join(dir, "net"), "--json", report,
				"--starting-port", fmt.Sprint(freePortBase(t, len(m.NodeNames()))))
			if m.App == "external" {
				cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(abciCLI(t))+string(os.PathListSeparator)+os.Getenv("PATH"))
			}
			out, runErr := cmd.CombinedOutput()
			t.Logf("tutti e2e %s:\n%s", c.manifest, out)
			raw, err := os.ReadFile(report)
			if err != nil {
				t.Fatalf("no result (%v): %v", runErr, err)
			}
			var res e2e.Result
			if err := json.Unmarshal(raw, &res); err != nil {
				t.Fatal(err)
			}
			if c.violated != "" {
				if runErr == nil {
					t.Fatalf("the planted fault went unnoticed: exit 0")
				}
				if !slices.Contains(res.Properties(), c.violated) || !strings.Contains(string(out), c.violated+": height") {
					t.Fatalf("want a violation of %s named in the output, got %v", c.violated, res.Properties())
				}
				return
			}
			if runErr != nil || res.Failed() {
				t.Fatalf("exit %v, violations %v", runErr, res.Violations)
			}
			faults := 0
			for _, n := range res.Faults {
				faults += n
			}
			if faults != len(m.Perturb) || res.Heals < len(m.Perturb) {
				t.Fatalf("%d of %d faults applied, %d liveness checks", faults, len(m.Perturb), res.Heals)
			}
			if len(m.Twins) > 0 && res.Equivocations == 0 {
				t.Fatal("twins ran but no honest node logged an equivocation")
			}
			if len(res.Heights) != len(m.Honest()) || res.Load == nil || res.Load.Counts.Accepted == 0 || res.Committed < int(res.Load.Counts.Accepted) {
				t.Fatalf("checked %v, committed %d, load %+v", res.Heights, res.Committed, res.Load)
			}
		})
	}
}

// abciCLI builds CometBFT's abci-cli (the version in go.mod) from the module cache.
func abciCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "abci-cli")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/cometbft/cometbft/abci/cmd/abci-cli").CombinedOutput()
	if err != nil {
		t.Fatalf("build abci-cli: %v\n%s", err, out)
	}
	return bin
}
