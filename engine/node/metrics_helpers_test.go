package node

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/engine/config"
)

// testHomes writes the homes of an n-validator network sharing one genesis, as `tutti
// testnet` does, with the kvstore app in process, Prometheus on a port the kernel picks
// and empty blocks every 200 ms (as the process tests in cmd/tutti). A single node listens
// for peers on port 0; a network gets free loopback ports and every other node as a
// persistent peer. edit adjusts node i's configuration before it is validated.
func testHomes(t *testing.T, n int, edit func(i int, c *config.Config)) []*config.Config {
	t.Helper()
	cfgs := make([]*config.Config, n)
	vals := make([]cmttypes.GenesisValidator, n)
	addrs := make([]string, n)
	for i := range cfgs {
		cfg := config.Default()
		cfg.Home = t.TempDir()
		cfg.Moniker = fmt.Sprintf("node%d", i)
		cfg.ProxyApp = "kvstore"
		cfg.P2P.ListenAddress = "tcp://127.0.0.1:0"
		if n > 1 {
			cfg.P2P.ListenAddress = "tcp://" + freeLoopbackAddr(t)
		}
		cfg.P2P.AllowDuplicateIP = true
		cfg.RPC.ListenAddress = "tcp://127.0.0.1:0" // nodes of parallel tests share this process
		cfg.Consensus.MaxEmptyBlockInterval = config.Duration(200 * time.Millisecond)
		cfg.Instrumentation.Prometheus = true
		cfg.Instrumentation.PrometheusListenAddr = "127.0.0.1:0"
		for _, dir := range []string{filepath.Dir(cfg.PrivValidatorKeyFile()), filepath.Dir(cfg.PrivValidatorStateFile()), cfg.DBPath()} {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		pv := privval.GenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
		pv.Save()
		key, err := cmtp2p.LoadOrGenNodeKey(cfg.NodeKeyFile())
		if err != nil {
			t.Fatal(err)
		}
		pub := pv.Key.PubKey
		cfgs[i], vals[i] = cfg, cmttypes.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: 10, Name: cfg.Moniker}
		addrs[i] = fmt.Sprintf("%s@%s", key.ID(), strings.TrimPrefix(cfg.P2P.ListenAddress, "tcp://"))
	}
	doc := &cmttypes.GenesisDoc{GenesisTime: time.Now().UTC(), ChainID: "metrics-test", InitialHeight: 1,
		ConsensusParams: cmttypes.DefaultConsensusParams(), Validators: vals}
	for i, cfg := range cfgs {
		var peers []string
		for j := range cfgs {
			if j != i {
				peers = append(peers, addrs[j])
			}
		}
		cfg.P2P.PersistentPeers = strings.Join(peers, ",")
		if edit != nil {
			edit(i, cfg)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := doc.SaveAs(cfg.GenesisFile()); err != nil {
			t.Fatal(err)
		}
	}
	return cfgs
}

// freeLoopbackAddr is a loopback address free now (another process could take it before the
// node binds it; the kernel does not hand a just-closed port straight back out).
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runTestNode opens and runs the node of cfg, logging at INFO into logs. stop ends Run and
// returns its error; cleanup stops the node too if the test ended early.
func runTestNode(t *testing.T, cfg *config.Config, logs *lockedBuffer) (n *Node, stop func() error) {
	t.Helper()
	n, err := Open(cfg, zerolog.New(logs).Level(zerolog.InfoLevel))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		err := n.Run(ctx)
		if err != nil && ctx.Err() == nil {
			// Stopped on its own: say why now rather than only time out below. The cleanup
			// waits for errc, so the test is still running.
			t.Errorf("%s: Run: %v", cfg.Moniker, err)
		}
		errc <- err
	}()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-errc:
			case <-time.After(15 * time.Second):
				runErr = fmt.Errorf("run did not return within 15 s of its context ending")
			}
			n.Close()
		})
		return runErr
	}
	t.Cleanup(func() {
		_ = stop()
		if t.Failed() {
			t.Logf("%s's log:\n%s", cfg.Moniker, tail(logs.String(), 40))
		}
	})
	return n, stop
}

// waitFor polls cond every 20 ms for up to 15 s and returns its last value.
func waitFor[T any](t *testing.T, what string, cond func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, ok := cond()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last %v)", what, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrape GETs /metrics and parses the text format.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value is the value of the family's series whose labels include every name=value pair
// given (the first series if none are given); 0 if there is none.
func value(f *dto.MetricFamily, labels ...string) float64 {
	if f == nil {
		return 0
	}
	for _, m := range f.Metric {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.Label {
			found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
		}
		if !found {
			return false
		}
	}
	return true
}

func histogramCount(f *dto.MetricFamily) uint64 {
	if f == nil || len(f.Metric) == 0 || f.Metric[0].Histogram == nil {
		return 0
	}
	return f.Metric[0].Histogram.GetSampleCount()
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// lockedBuffer collects the node's log lines, written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
