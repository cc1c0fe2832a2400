package conn

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abciserver "github.com/cometbft/cometbft/abci/server"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/rs/zerolog"
)

func freeAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// exerciseKVStore drives one height through the consensus connection and reads the value
// back through the query connection, as the node does.
func exerciseKVStore(t *testing.T, c *Conns) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Consensus.InitChain(ctx, &abci.RequestInitChain{ChainId: "conn-test", InitialHeight: 1}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Mempool.CheckTx(ctx, &abci.RequestCheckTx{Tx: []byte("color=blue")})
	if err != nil || res.Code != abci.CodeTypeOK {
		t.Fatalf("CheckTx: %v %v", res, err)
	}
	fin, err := c.Consensus.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Txs: [][]byte{[]byte("color=blue")}})
	if err != nil || len(fin.TxResults) != 1 || fin.TxResults[0].Code != 0 {
		t.Fatalf("FinalizeBlock: %v %v", fin, err)
	}
	if _, err := c.Consensus.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := c.Query.Query(ctx, &abci.RequestQuery{Data: []byte("color")})
	if err != nil || string(q.Value) != "blue" {
		t.Fatalf("Query: %v %v", q, err)
	}
	info, err := c.Query.Info(ctx, &abci.RequestInfo{})
	if err != nil || info.LastBlockHeight != 1 {
		t.Fatalf("Info: %v %v", info, err)
	}
	if _, err := c.Snapshot.ListSnapshots(ctx, &abci.RequestListSnapshots{}); err != nil {
		t.Fatal(err)
	}
}

func TestInProcessKVStore(t *testing.T) {
	creator, err := Creator("kvstore", "socket", t.TempDir(), Builtins)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(creator, "kvstore", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exerciseKVStore(t, c)
}

func TestUnknownAppIsAClearError(t *testing.T) {
	_, err := Creator("counter", "socket", t.TempDir(), Builtins)
	if err == nil || !strings.Contains(err.Error(), "kvstore") || !strings.Contains(err.Error(), "tcp://") {
		t.Fatalf("got %v", err)
	}
	if _, err := Creator("tcp://127.0.0.1:1", "carrier-pigeon", t.TempDir(), Builtins); err == nil {
		t.Fatal("bad transport accepted")
	}
}

// TestExternalABCICLIOverSocket runs CometBFT's own abci-cli kvstore, built from the
// module cache, as a separate process, talks to it over a socket, then kills it and
// checks that the failure is reported.
func TestExternalABCICLIOverSocket(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "abci-cli")
	build := exec.Command("go", "build", "-o", bin, "github.com/cometbft/cometbft/abci/cmd/abci-cli")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build abci-cli: %v\n%s", err, out)
	}
	addr := "tcp://" + freeAddress(t)
	app := exec.Command(bin, "kvstore", "--address", addr, "--log_level", "error")
	app.Stdout, app.Stderr = os.Stderr, os.Stderr
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = app.Process.Kill(); _, _ = app.Process.Wait() }()

	c := openRemote(t, addr)
	exerciseKVStore(t, c)

	if err := app.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.Failed():
		if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "Restart the app") {
			t.Fatalf("unclear failure: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("killing the app was not reported")
	}
}

func TestGRPCTransport(t *testing.T) {
	addr := "tcp://" + freeAddress(t)
	server := abciserver.NewGRPCServer(addr, kvstore.NewInMemoryApplication())
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = server.Stop() }()
	creator, err := Creator(addr, "grpc", t.TempDir(), Builtins)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(creator, addr, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exerciseKVStore(t, c)
}

func TestInProcessLedger(t *testing.T) {
	dir := t.TempDir()
	creator, err := Creator("ledger", "socket", dir, Builtins)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(creator, "ledger", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Consensus.InitChain(ctx, &abci.RequestInitChain{ChainId: "conn-ledger", InitialHeight: 1,
		AppStateBytes: []byte(`{"accounts":[]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Consensus.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Consensus.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := c.Query.Info(ctx, &abci.RequestInfo{})
	if err != nil || info.LastBlockHeight != 1 || len(info.LastBlockAppHash) == 0 {
		t.Fatalf("Info: %v %v", info, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ledger")); err != nil {
		t.Fatalf("the ledger did not keep its state under the data directory: %v", err)
	}
}
