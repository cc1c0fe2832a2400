package main

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/testnet/load"
	lnet "github.com/tutti-bft/tutti/testnet/localnet"
)

// loadReport is the part of `tutti load --json` the tests read.
type loadReport struct {
	CommittedTPS float64     `json:"committed_tps"`
	Observed     int         `json:"observed"`
	Counts       load.Counts `json:"counts"`
	Latency      struct {
		P50 float64 `json:"p50_ms"`
		P99 float64 `json:"p99_ms"`
	} `json:"latency"`
	Series            []load.Second `json:"series"`
	NeverCommittedTxs []string      `json:"never_committed_txs"`
	Failures          map[string]int64
}

func readLoadReport(t *testing.T, path string) loadReport {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r loadReport
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, raw)
	}
	return r
}

// TestLoadCommandAgainstFourValidators runs `tutti load` (the built binary) at 100 kvstore
// transactions a second for 10 s, broadcast over websockets (HTTP is what `make localnet`
// and the e2e runner use), against a 4-validator network of processes: it commits
// transactions, every one a node accepted is seen committed through the NewBlock events of
// all four nodes (--observe 0), none at two heights, and the report's files, plot and fault
// window are written.
func TestLoadCommandAgainstFourValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 node processes and the load generator for about 20 s")
	}
	bin := tuttiBinary(t)
	base, err := lnet.FreePortBase(20000+os.Getpid()%1000*10, 4)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	nw, err := lnet.Generate(ctx, lnet.Options{Bin: bin, Dir: filepath.Join(dir, "net"), Validators: 4,
		StartingPort: base, ChainID: "load-test", ProxyApp: "kvstore"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := nw.StopAll(20 * time.Second); err != nil {
			t.Error(err)
		}
	})
	for i := range nw.Homes {
		if err := nw.Start(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := nw.WaitHeight(ctx, 2, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	jsonPath, csvPath, plotPath := filepath.Join(dir, "load.json"), filepath.Join(dir, "load.csv"), filepath.Join(dir, "load.png")
	cmd := exec.Command(bin, "load", "--endpoints", strings.Join(nw.RPCs(), ","), "--rate", "100",
		"--duration", "10s", "--drain", "10s", "--json", jsonPath, "--csv", csvPath, "--plot", plotPath,
		"--observe", "0", "--window-from", "5s", "--transport", "ws")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tutti load: %v\n%s", err, out)
	}
	t.Logf("tutti load:\n%s", out)
	r := readLoadReport(t, jsonPath)
	if r.Observed != 4 {
		t.Fatalf("--observe 0 watched %d of the 4 nodes, want all", r.Observed)
	}
	if r.Counts.Committed == 0 {
		t.Fatal("nothing committed")
	}
	if r.Counts.NeverCommitted != 0 {
		t.Fatalf("%d accepted transactions never committed: %v", r.Counts.NeverCommitted, r.NeverCommittedTxs)
	}
	if r.Counts.CommittedTwice != 0 {
		t.Fatalf("%d transactions committed at two heights", r.Counts.CommittedTwice)
	}
	if r.Counts.Sent != 1000 || r.Counts.Accepted+r.Counts.Refused+r.Counts.SendErrors != r.Counts.Sent {
		t.Fatalf("counts do not add up: %+v", r.Counts)
	}
	if len(r.Series) < 10 || r.Latency.P50 <= 0 || r.Latency.P99 < r.Latency.P50 {
		t.Fatalf("series of %d seconds, p50 %g ms, p99 %g ms", len(r.Series), r.Latency.P50, r.Latency.P99)
	}
	if !strings.Contains(string(out), "offered") || !strings.Contains(string(out), "load summary") {
		t.Fatalf("no live line or summary in the output:\n%s", out)
	}
	if !strings.Contains(string(out), "from 5.0 s") || !strings.Contains(string(out), "longest stall") {
		t.Fatalf("no window line in the summary:\n%s", out)
	}
	f, err := os.Open(plotPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("the plot is not a PNG: %v", err)
	}
	csvRaw, err := os.ReadFile(csvPath)
	if err != nil || !strings.HasPrefix(string(csvRaw), "second,offered,committed,p50_ms,p99_ms\n") {
		t.Fatalf("CSV: %v\n%s", err, csvRaw)
	}
}
