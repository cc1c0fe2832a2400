package sim

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cometbft/cometbft/proxy"
)

// TestLedgerUnderFourValidators runs Tutti's ledger in process under 4 validators with
// crashes and network faults: supply constant on every node (S6), app hashes equal (S5),
// every acknowledged transfer committed (S4).
func TestLedgerUnderFourValidators(t *testing.T) {
	res := Run(Options{Seed: 11, Validators: 4, Byzantine: 0, Duration: 20 * time.Second, Ledger: true,
		App: InProcessLedger(t.TempDir())})
	for _, v := range res.Violations {
		t.Error(v)
	}
	if res.Stats.TxsCommitted == 0 || res.Stats.SupplyChecks == 0 {
		t.Fatalf("committed %d transfers, %d supply checks", res.Stats.TxsCommitted, res.Stats.SupplyChecks)
	}
	t.Logf("heights %d, %d of %d acknowledged transfers committed, %d supply checks; faults: %s",
		res.Heights, res.Stats.TxsCommitted, res.Stats.TxsAcknowledged, res.Stats.SupplyChecks, res.Stats.FaultSummary())
}

// TestLedgerOverSocket runs the ledger as it runs beside a real node: one `tutti ledger
// serve` process per validator, reached over the ABCI socket, under 4 validators with
// crashes and network faults.
func TestLedgerOverSocket(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "tutti")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/tutti-bft/tutti/cmd/tutti").CombinedOutput(); err != nil {
		t.Fatalf("build tutti: %v\n%s", err, out)
	}
	const n = 4
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = "tcp://" + freeLoopbackAddress(t)
		app := exec.Command(bin, "ledger", "serve", "--address", addrs[i], "--home", t.TempDir(), "--log-level", "error")
		app.Stderr = os.Stderr
		if err := app.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = app.Process.Kill(); _, _ = app.Process.Wait() })
		waitListening(t, addrs[i])
	}
	res := Run(Options{Seed: 12, Validators: n, Byzantine: 0, Duration: 20 * time.Second, Ledger: true,
		App: func(i int) (proxy.ClientCreator, func() error, error) {
			return proxy.NewRemoteClientCreator(addrs[i], "socket", true), nil, nil
		}})
	for _, v := range res.Violations {
		t.Error(v)
	}
	if res.Stats.TxsCommitted == 0 || res.Stats.SupplyChecks == 0 {
		t.Fatalf("committed %d transfers, %d supply checks", res.Stats.TxsCommitted, res.Stats.SupplyChecks)
	}
	t.Logf("heights %d, %d of %d acknowledged transfers committed, %d supply checks; faults: %s",
		res.Heights, res.Stats.TxsCommitted, res.Stats.TxsAcknowledged, res.Stats.SupplyChecks, res.Stats.FaultSummary())
}
