package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/app/ledger"
	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServeOverABCI runs the ledger behind CometBFT's ABCI socket and gRPC
// servers and drives a chain through CometBFT's own ABCI clients, as an
// engine running the ledger out of process does.
func TestServeOverABCI(t *testing.T) {
	for _, transport := range []string{"socket", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			home := t.TempDir()
			addr := "tcp://" + freePort(t)
			logs := &lockedBuffer{}
			srv, app, err := startServer(home, serveOptions{address: addr, transport: transport, keepVersions: 10}, zerolog.New(logs))
			if err != nil {
				t.Fatal(err)
			}
			defer stopServer(srv, app)
			clientAddr := addr
			if transport == "grpc" {
				// grpc-go's NewClient resolves "tcp://host:port" as a DNS name
				// and waits forever; CometBFT's gRPC client wants host:port.
				clientAddr = strings.TrimPrefix(addr, "tcp://")
			}
			c, err := abcicli.NewClient(clientAddr, transport, true)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			defer c.Stop()
			driveChain(t, c)
			for _, want := range []string{`"message":"ledger serving ABCI"`, `"message":"genesis loaded"`, `"height":1,"txs":1,"failed":0`} {
				if !strings.Contains(logs.String(), want) {
					t.Fatalf("log lacks %s:\n%s", want, logs.String())
				}
			}
		})
	}
}

func driveChain(t *testing.T, c abcicli.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice := ed25519.GenPrivKeyFromSecret([]byte("alice"))
	aliceAddr := tx.AddressFromPubKey(alice.PubKey().Bytes())
	bob := tx.AddressFromPubKey([]byte("bob"))
	appState, _ := json.Marshal(state.Genesis{Accounts: []state.GenesisAccount{{Address: aliceAddr.String(), Balance: "500"}}})
	if _, err := c.InitChain(ctx, &abci.RequestInitChain{ChainId: "serve-test", InitialHeight: 1, AppStateBytes: appState}); err != nil {
		t.Fatal(err)
	}
	raw, err := tx.Sign(alice, tx.Transfer{ChainId: "serve-test", To: bob[:], Amount: 120, Fee: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw}); err != nil || r.Code != 0 {
		t.Fatalf("CheckTx: %v %v", err, r)
	}
	fin, err := c.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Txs: [][]byte{raw}})
	if err != nil || len(fin.TxResults) != 1 || fin.TxResults[0].Code != 0 {
		t.Fatalf("FinalizeBlock: %v %v", err, fin)
	}
	if _, err := c.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx, &abci.RequestInfo{})
	if err != nil || info.LastBlockHeight != 1 || !bytes.Equal(info.LastBlockAppHash, fin.AppHash) {
		t.Fatalf("Info: %v %v", err, info)
	}
	q, err := c.Query(ctx, &abci.RequestQuery{Path: ledger.QueryBalance, Data: bob[:], Prove: true})
	if err != nil || q.Code != 0 {
		t.Fatalf("Query: %v %v", err, q)
	}
	var rec state.AccountRecord
	if err := rec.Unmarshal(q.Value); err != nil || rec.Balance != 120 {
		t.Fatalf("bob: %v %+v", err, rec)
	}
	p, err := state.DecodeProof(q.ProofOps.Ops[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := state.VerifyAccount(fin.AppHash, bob, state.Account{Balance: 120}, p); err != nil {
		t.Fatalf("proof over the wire: %v", err)
	}
}

func TestServeRefusesAnotherChainsData(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "config"), 0o755)
	os.WriteFile(genesisFile(home), []byte(`{"chain_id":"chain-a"}`), 0o644)
	srv, app, err := startServer(home, serveOptions{address: "tcp://" + freePort(t), transport: "socket", keepVersions: 5}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: "chain-b"}); err == nil {
		t.Fatal("InitChain for another chain than genesis.json's accepted")
	}
	stopServer(srv, app)
}

// lockedBuffer collects logs written from the server's goroutines.
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
