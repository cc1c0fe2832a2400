package rpc_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/abci/conn"
	"github.com/tutti-bft/tutti/engine/config"
)

// holdingKVStore is CometBFT's kvstore whose PrepareProposal leaves out transactions
// starting "hold-": they stay in the mempool (as on CometBFT), which lets a test fill the
// pool deterministically while the chain runs.
const holdingKVStore = "holding-kvstore"

type holdingApp struct{ *kvstore.Application }

func (a holdingApp) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	var out [][]byte
	for _, tx := range req.Txs {
		if !bytes.HasPrefix(tx, []byte("hold-")) {
			out = append(out, tx)
		}
	}
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}

func init() {
	conn.Builtins[holdingKVStore] = func(string) (abci.Application, error) {
		return holdingApp{kvstore.NewInMemoryApplication()}, nil
	}
}

// TestMempoolRefusalsReachTheClient: through cometbft's own HTTP client, each refusal
// reaches the client as its own error: too large, duplicate and full are JSON-RPC errors
// carrying CometBFT's messages (as CometBFT returns them), a CheckTx refusal is a result
// with the app's non-zero code. A refused transaction is not in the pool.
func TestMempoolRefusalsReachTheClient(t *testing.T) {
	tn := startNode(t, func(c *config.Config) {
		c.ProxyApp = holdingKVStore
		c.Mempool.Size = 2
		c.Mempool.MaxTxBytes = 64
	})
	c := tn.client(t)
	ctx := context.Background()

	errs := map[string]string{}
	// The app's own refusal first (a full pool refuses before asking the app): kvstore's
	// invalid format code, in the result, and no pool room kept.
	res, err := c.BroadcastTxSync(ctx, []byte("no separator"))
	if err != nil || res.Code != kvstore.CodeTypeInvalidTxFormat {
		t.Fatalf("failing CheckTx: %v %v, want code %d", res, err, kvstore.CodeTypeInvalidTxFormat)
	}
	errs["failing CheckTx"] = fmt.Sprintf("code %d: %s", res.Code, res.Log)
	for _, tx := range []string{"hold-1=a", "hold-2=b"} {
		if res, err := c.BroadcastTxSync(ctx, []byte(tx)); err != nil || res.Code != abci.CodeTypeOK {
			t.Fatalf("%s: %v %v", tx, res, err)
		}
	}
	for _, tc := range []struct {
		name, tx, want string
	}{
		{"too large", strings.Repeat("k", 60) + "=value", "Tx too large. Max size is 64, but got 66"},
		{"duplicate", "hold-1=a", "tx already exists in cache"},
		{"full", "fresh=1", "mempool is full: number of txs 2 (max: 2)"},
	} {
		res, err := c.BroadcastTxSync(ctx, []byte(tc.tx))
		if err == nil {
			t.Fatalf("%s: accepted with code %d", tc.name, res.Code)
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "-32603") {
			t.Fatalf("%s: error %q, want JSON-RPC code -32603 with %q", tc.name, err, tc.want)
		}
		errs[tc.name] = err.Error()
	}
	seen := map[string]string{}
	for name, e := range errs {
		if other, dup := seen[e]; dup {
			t.Fatalf("%s and %s give the same error %q", name, other, e)
		}
		seen[e] = name
	}
	n, err := c.NumUnconfirmedTxs(ctx)
	if err != nil || n.Total != 2 {
		t.Fatalf("unconfirmed txs: %v %v, want the 2 held ones", n, err)
	}
	for name, e := range errs {
		t.Logf("%-16s %s", name, e)
	}
}

// TestOverloadAcknowledgedAreCommitted floods a 200-transaction pool from 32 clients for 3
// seconds through broadcast_tx_sync, then checks that every acknowledged transaction (code
// 0) was committed exactly once, while the pool refused the overflow with "mempool is
// full". CometBFT v0.38 can lose acknowledged transactions here (the pool fills between
// CheckTx and insertion); Tutti's pool reserves room before CheckTx.
func TestOverloadAcknowledgedAreCommitted(t *testing.T) {
	tn := startNode(t, func(c *config.Config) { c.Mempool.Size = 200 })
	const clients = 32
	const flood = 3 * time.Second
	var mu sync.Mutex
	acked := map[string]bool{}
	var full, other int
	var otherErr error
	var wg sync.WaitGroup
	end := time.Now().Add(flood)
	for g := 0; g < clients; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := tn.client(t)
			for i := 0; time.Now().Before(end); i++ {
				tx := fmt.Sprintf("load-%d-%d=%d", g, i, i)
				res, err := c.BroadcastTxSync(context.Background(), []byte(tx))
				mu.Lock()
				switch {
				case err == nil && res.Code == abci.CodeTypeOK:
					acked[tx] = true
				case err != nil && strings.Contains(err.Error(), "mempool is full"):
					full++
				default:
					other++
					otherErr = fmt.Errorf("%s: %v %v", tx, res, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if other > 0 {
		t.Fatalf("%d transactions refused for another reason than a full pool, e.g. %v", other, otherErr)
	}
	if full == 0 {
		t.Fatalf("the pool never filled (%d acknowledged): no overload", len(acked))
	}
	c := tn.client(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := c.NumUnconfirmedTxs(context.Background())
		if err == nil && n.Total == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v transactions still pending 10 s after the flood (%v)", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The pool is empty once the executor removed the last block's transactions, which it
	// does after storing that block: everything committed is in the store now.
	committed := map[string]int{}
	for h := int64(1); h <= tn.node.Height(); h++ {
		b, err := tn.node.Store().Block(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range b.Txs {
			committed[string(tx)]++
		}
	}
	lost, twice := 0, 0
	for tx := range acked {
		switch committed[tx] {
		case 0:
			lost++
		case 1:
		default:
			twice++
		}
	}
	t.Logf("%d clients, %s: %d acknowledged, %d committed, %d refused (mempool is full); %d acknowledged but never committed, %d committed twice",
		clients, flood, len(acked), len(acked)-lost, full, lost, twice)
	if lost > 0 || twice > 0 {
		t.Fatalf("%d acknowledged transactions never committed, %d committed more than once", lost, twice)
	}
}
