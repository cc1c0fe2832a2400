package node

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/engine/config"
)

// The metrics every scrape of a running node must carry (namespace "tutti").
var wantMetrics = []string{
	"tutti_consensus_height", "tutti_consensus_latest_block_height", "tutti_consensus_rounds",
	"tutti_consensus_epoch", "tutti_consensus_validators", "tutti_consensus_validators_power",
	"tutti_consensus_commits_total", "tutti_consensus_skipped_slots_total",
	"tutti_consensus_num_txs", "tutti_consensus_total_txs", "tutti_consensus_block_interval_seconds",
	"tutti_consensus_block_commit_latency_seconds", "tutti_state_block_processing_time",
	"tutti_mempool_size", "tutti_mempool_size_bytes", "tutti_mempool_failed_txs",
	"tutti_mempool_rejected_txs", "tutti_mempool_already_received_txs", "tutti_mempool_tx_size_bytes",
	"tutti_p2p_peers", "tutti_p2p_message_send_bytes_total", "tutti_p2p_message_receive_bytes_total",
	"go_goroutines", "process_cpu_seconds_total",
}

// TestMetricsServedAndGrowing runs a one-validator kvstore chain in process with
// Prometheus on a loopback port the kernel picks, scrapes /metrics twice and checks that
// every metric is there, that height and commits grew between the scrapes, that blocks
// went through the latency and processing histograms, that a committed and a refused
// transaction were counted, and that the server is gone once Run returns.
func TestMetricsServedAndGrowing(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	n, stop := runTestNode(t, testHomes(t, 1, nil)[0], logs)
	addr := waitFor(t, "the metrics server", func() (string, bool) { a := n.MetricsAddr(); return a, a != "" })
	waitFor(t, "height 3", func() (int64, bool) { return n.Height(), n.Height() >= 3 })
	if !strings.Contains(logs.String(), `"addr":"`+addr+`"`) {
		t.Errorf("no INFO line names the metrics address %s", addr)
	}

	first := scrape(t, addr)
	for _, name := range wantMetrics {
		if first[name] == nil {
			t.Errorf("metric %s missing from /metrics", name)
		}
	}
	for tx, ok := range map[string]bool{"metrics=1": true, "not a kvstore tx": false} {
		res, err := n.CheckTx(context.Background(), []byte(tx))
		if err != nil || (res.Code == abci.CodeTypeOK) != ok {
			t.Fatalf("CheckTx(%q) = %v, %v; want accepted: %v", tx, res, err, ok)
		}
	}
	from := n.Height()
	waitFor(t, "3 more heights", func() (int64, bool) { return n.Height(), n.Height() >= from+3 })
	waitFor(t, "the committed tx in the metrics", func() (float64, bool) {
		v := value(scrape(t, addr)["tutti_consensus_total_txs"])
		return v, v >= 1
	})
	second := scrape(t, addr)

	for _, name := range []string{"tutti_consensus_height", "tutti_consensus_latest_block_height",
		"tutti_consensus_rounds", "tutti_consensus_commits_total"} {
		if a, b := value(first[name]), value(second[name]); b <= a {
			t.Errorf("%s did not grow between scrapes: %v then %v", name, a, b)
		}
	}
	for name, want := range map[string]float64{"tutti_consensus_validators": 1, "tutti_consensus_validators_power": 10,
		"tutti_consensus_total_txs": 1, "tutti_mempool_failed_txs": 1, "tutti_p2p_peers": 0} {
		if got := value(second[name]); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for _, name := range []string{"tutti_consensus_block_commit_latency_seconds", "tutti_state_block_processing_time",
		"tutti_consensus_block_interval_seconds", "tutti_mempool_tx_size_bytes"} {
		if histogramCount(second[name]) == 0 {
			t.Errorf("histogram %s has no observations", name)
		}
	}

	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n.MetricsAddr() != "" {
		t.Errorf("MetricsAddr is %q after Run returned", n.MetricsAddr())
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Run returned", addr)
	}
}

// TestMetricsTwoNodesInOneProcess runs two validators in this process, each with its own
// registry and server, and checks each one's p2p metrics: one peer, consensus bytes sent
// and received, and per-peer counters labelled with the other node's ID.
func TestMetricsTwoNodesInOneProcess(t *testing.T) {
	t.Parallel()
	cfgs := testHomes(t, 2, nil)
	var nodes [2]*Node
	var addrs [2]string
	for i, cfg := range cfgs {
		nodes[i], _ = runTestNode(t, cfg, &lockedBuffer{})
	}
	for i, n := range nodes {
		addrs[i] = waitFor(t, "the metrics server", func() (string, bool) { a := n.MetricsAddr(); return a, a != "" })
		waitFor(t, "height 3", func() (int64, bool) { return n.Height(), n.Height() >= 3 })
	}
	if addrs[0] == addrs[1] {
		t.Fatalf("both nodes serve metrics on %s", addrs[0])
	}
	for i, addr := range addrs {
		m := scrape(t, addr)
		other := string(nodes[1-i].sw.ID())
		for _, c := range []struct {
			name   string
			labels []string
			min    float64
		}{
			{"tutti_p2p_peers", nil, 1},
			{"tutti_consensus_validators", nil, 2},
			{"tutti_consensus_latest_block_height", nil, 3},
			{"tutti_p2p_message_send_bytes_total", []string{"channel", "consensus"}, 1},
			{"tutti_p2p_message_receive_bytes_total", []string{"channel", "consensus"}, 1},
			{"tutti_p2p_peer_send_bytes_total", []string{"peer_id", other, "chID", "0x20"}, 1},
			{"tutti_p2p_peer_receive_bytes_total", []string{"peer_id", other, "chID", "0x20"}, 1},
		} {
			if got := value(m[c.name], c.labels...); got < c.min {
				t.Errorf("node%d: %s%v = %v, want at least %v", i, c.name, c.labels, got, c.min)
			}
		}
	}
}

// TestMetricsOffListensNowhere: with prometheus = false the node runs and commits, but
// nothing listens on the configured metrics address and no server is started.
func TestMetricsOffListensNowhere(t *testing.T) {
	t.Parallel()
	addr := freeLoopbackAddr(t)
	logs := &lockedBuffer{}
	cfg := testHomes(t, 1, func(_ int, c *config.Config) {
		c.Instrumentation.Prometheus = false
		c.Instrumentation.PrometheusListenAddr = addr
	})[0]
	n, stop := runTestNode(t, cfg, logs)
	waitFor(t, "height 2", func() (int64, bool) { return n.Height(), n.Height() >= 2 })
	if n.metrics != nil || n.MetricsAddr() != "" {
		t.Errorf("metrics set up with prometheus = false (addr %q)", n.MetricsAddr())
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("something listens on %s with prometheus = false", addr)
	}
	if strings.Contains(logs.String(), "Prometheus") {
		t.Error("a log line mentions Prometheus metrics with prometheus = false")
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestMetricsPortTakenFailsRun: a metrics address already in use stops Run with an error
// naming the config key, rather than leaving the node running without its metrics.
func TestMetricsPortTakenFailsRun(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testHomes(t, 1, func(_ int, c *config.Config) { c.Instrumentation.PrometheusListenAddr = taken.Addr().String() })[0]
	n, err := Open(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := n.Run(ctx); err == nil || !strings.Contains(err.Error(), "instrumentation.prometheus_listen_addr") {
		t.Fatalf("Run with the metrics port taken returned %v, want an error naming the key", err)
	}
}
