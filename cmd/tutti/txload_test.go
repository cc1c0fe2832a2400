package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/tutti-bft/tutti/engine/config"
)

// txLoad sends kvstore transactions through the RPC (broadcast_tx_sync) to some nodes of
// a localnet, round robin, and remembers each one a node acknowledged (CheckTx code 0).
type txLoad struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	acked  []string
	errors int
}

// startTxLoad sends about perSecond transactions a second until stop.
func (ln *localnet) startTxLoad(nodes []int, perSecond int) *txLoad {
	ln.t.Helper()
	var clients []*rpchttp.HTTP
	for _, i := range nodes {
		cfg, err := config.Load(ln.homes[i])
		if err != nil {
			ln.t.Fatal(err)
		}
		c, err := rpchttp.New(cfg.RPC.ListenAddress, "/websocket")
		if err != nil {
			ln.t.Fatal(err)
		}
		clients = append(clients, c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &txLoad{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			tx := fmt.Sprintf("load-%d=%d", n, n)
			res, err := clients[n%len(clients)].BroadcastTxSync(ctx, []byte(tx))
			l.mu.Lock()
			if err == nil && res.Code == 0 {
				l.acked = append(l.acked, tx)
			} else if ctx.Err() == nil {
				l.errors++
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// stop ends the load and returns the acknowledged transactions.
func (l *txLoad) stop() []string {
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked
}

// checkTxsCommittedOnce: every acknowledged transaction is in the chain, at exactly one
// height (the store summary counts each transaction's heights).
func checkTxsCommittedOnce(t *testing.T, sum chainSummary, acked []string) {
	t.Helper()
	if len(acked) == 0 {
		t.Fatal("the load got no transaction acknowledged")
	}
	for _, tx := range acked {
		switch hs := sum.txHeights[tx]; len(hs) {
		case 1:
		case 0:
			t.Fatalf("acknowledged transaction %q was never committed (chain at height %d)", tx, sum.height)
		default:
			t.Fatalf("transaction %q committed at heights %v", tx, hs)
		}
	}
	t.Logf("%d acknowledged transactions: each committed exactly once", len(acked))
}
