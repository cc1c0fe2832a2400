package sim

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/proxy"
)

// TestExternalKVStoreOverSocket runs CometBFT's own abci-cli kvstore, built from the module
// cache, as one separate process per validator, reached over the ABCI socket, under 4
// validators with crashes and network faults: app hashes agree at every height, and every
// committed transaction reads back through Query on every node.
func TestExternalKVStoreOverSocket(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "abci-cli")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/cometbft/cometbft/abci/cmd/abci-cli").CombinedOutput(); err != nil {
		t.Fatalf("build abci-cli: %v\n%s", err, out)
	}
	const n = 4
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = "tcp://" + freeLoopbackAddress(t)
		app := exec.Command(bin, "kvstore", "--address", addrs[i], "--log_level", "error")
		app.Stderr = os.Stderr
		if err := app.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = app.Process.Kill(); _, _ = app.Process.Wait() })
		waitListening(t, addrs[i])
	}
	res := Run(Options{Seed: 5, Validators: n, Byzantine: 0, Duration: 20 * time.Second, QueryKVStore: true,
		App: func(i int) (proxy.ClientCreator, func() error, error) {
			return proxy.NewRemoteClientCreator(addrs[i], "socket", true), nil, nil
		}})
	for _, v := range res.Violations {
		t.Error(v)
	}
	if res.Stats.TxsCommitted == 0 {
		t.Fatal("nothing committed")
	}
	t.Logf("heights %d, %d transactions committed and read back on every node; faults: %s",
		res.Heights, res.Stats.TxsCommitted, res.Stats.FaultSummary())
}

func freeLoopbackAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitListening waits until a started app accepts connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", strings.TrimPrefix(addr, "tcp://"))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app at %s never listened", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
