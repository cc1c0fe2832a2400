package ledger

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLedgerNeverImportsTheEngine keeps the ledger an app like any other: it
// reaches Tutti only through ABCI, so nothing under engine/ may be in the
// dependencies of any ledger package, tests included.
func TestLedgerNeverImportsTheEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 10 {
		t.Fatalf("go list returned only %v", pkgs)
	}
	for _, p := range pkgs {
		if strings.HasPrefix(p, "github.com/tutti-bft/tutti/engine") {
			t.Errorf("a ledger package depends on %s", p)
		}
	}
}
