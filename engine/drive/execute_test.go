package drive

import (
	"context"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/proxy"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/abci/exec"
	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/mempool"
	"github.com/tutti-bft/tutti/engine/order"
)

// One height through Execution with kvstore: the host stores it while the app has not yet
// committed it (a query does not see its write); a client's CheckTx sent from that moment waits until the mempool was
// updated; the height's transaction leaves the mempool.
func TestExecutionStoresBeforeCommitAndHoldsCheckTxUntilTheMempoolUpdate(t *testing.T) {
	ctx := context.Background()
	client, err := proxy.NewLocalClientCreator(kvstore.NewInMemoryApplication()).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Stop() })
	set := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(ed25519.GenPrivKeyFromSecret([]byte("v0")).PubKey(), 10)})
	consensus := proxy.NewAppConnConsensus(client, proxy.NopMetrics())
	if _, err := consensus.InitChain(ctx, &abci.RequestInitChain{ChainId: "x", Validators: cmttypes.TM2PB.ValidatorUpdates(set)}); err != nil {
		t.Fatal(err)
	}
	query := proxy.NewAppConnQuery(client, proxy.NopMetrics())
	pool := mempool.New(mempool.Config{Size: 100, MaxTxsBytes: 1 << 20, MaxTxBytes: 1 << 10, CacheSize: 100, Recheck: true},
		proxy.NewAppConnMempool(client, proxy.NopMetrics()))
	if res, err := pool.CheckTx(ctx, []byte("a=1")); err != nil || res.Code != abci.CodeTypeOK {
		t.Fatalf("CheckTx: %v %v", res, err)
	}

	checked := make(chan struct{})
	savedValue := "unset"
	committed := false
	run := Execution{Exec: exec.New(consensus, 0, nil, set, set), Pool: pool,
		Save: func(*exec.Executed, core.ExecutionResult) error {
			res, err := query.Query(ctx, &abci.RequestQuery{Data: []byte("a")})
			if err != nil {
				return err
			}
			savedValue = string(res.Value)
			go func() {
				_, _ = pool.CheckTx(ctx, []byte("b=2"))
				close(checked)
			}()
			return nil
		},
		Committed: func(*exec.Executed, core.ExecutionResult) {
			committed = true
			select {
			case <-checked:
				t.Error("a CheckTx sent once the height was stored ran before the mempool update")
			case <-time.After(50 * time.Millisecond):
			}
		}}
	block := &order.ABCIBlock{Height: 1, TimeMs: 1_700_000_000_000, Txs: [][]byte{[]byte("a=1")}, Hash: []byte("h1")}
	if _, result, err := run.Height(ctx, block); err != nil || len(result.AppHash) == 0 {
		t.Fatalf("height 1: %v (app hash %x)", err, result.AppHash)
	}
	if savedValue != "" || !committed {
		t.Fatalf("when stored, the app answered a=%q (want nothing: before its Commit); committed hook ran: %v", savedValue, committed)
	}
	select {
	case <-checked:
	case <-time.After(5 * time.Second):
		t.Fatal("the CheckTx held during the update never ran")
	}
	if pool.Has([]byte("a=1")) || !pool.Has([]byte("b=2")) {
		t.Fatalf("after the update the mempool holds a=1: %v, b=2: %v (want false, true)", pool.Has([]byte("a=1")), pool.Has([]byte("b=2")))
	}
}
