package node

import (
	"context"
	"errors"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtmempool "github.com/cometbft/cometbft/mempool"
	cmttypes "github.com/cometbft/cometbft/types"
)

// Two validators and a full node. A transaction a client gives the full node reaches a
// validator and is committed; one a validator accepts is in the other nodes' mempools
// right after (a resubmission there is refused as known), so a client's next transaction
// checked there sees it; each is committed once.
func TestTransactionsAreRelayed(t *testing.T) {
	t.Parallel()
	cfgs := testHomes(t, 3, nil)
	doc, err := cmttypes.GenesisDocFromFile(cfgs[0].GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	doc.Validators = doc.Validators[:2] // node 2 follows only
	for _, cfg := range cfgs {
		if err := doc.SaveAs(cfg.GenesisFile()); err != nil {
			t.Fatal(err)
		}
	}
	var nodes [3]*Node
	for i, cfg := range cfgs {
		nodes[i], _ = runTestNode(t, cfg, &lockedBuffer{})
	}
	for _, n := range nodes {
		waitFor(t, "height 2", func() (int64, bool) { return n.Height(), n.Height() >= 2 })
	}
	if nodes[2].relaySelf() != nil {
		t.Fatal("the full node thinks it is a validator")
	}
	ctx := context.Background()
	check := func(n *Node, tx string) {
		t.Helper()
		if res, err := n.CheckTx(ctx, []byte(tx)); err != nil || res.Code != abci.CodeTypeOK {
			t.Fatalf("CheckTx %s: %v %v", tx, res, err)
		}
	}
	check(nodes[0], "from-validator=1")
	waitFor(t, "the other validator and the full node to hold the relayed transaction", func() (string, bool) {
		for _, n := range nodes[1:] {
			if _, err := n.pool.CheckTx(ctx, []byte("from-validator=1")); !errors.Is(err, cmtmempool.ErrTxInCache) {
				return n.cfg.Moniker + " does not have it", false
			}
		}
		return "", true
	})
	check(nodes[2], "from-full-node=1")
	committed := func(n *Node, tx string) int {
		count := 0
		for h := int64(1); h <= n.Height(); h++ {
			b, err := n.store.Block(h)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range b.Txs {
				if string(x) == tx {
					count++
				}
			}
		}
		return count
	}
	for _, tx := range []string{"from-validator=1", "from-full-node=1"} {
		for _, n := range nodes {
			waitFor(t, tx+" committed on "+n.cfg.Moniker, func() (int, bool) { c := committed(n, tx); return c, c > 0 })
			if c := committed(n, tx); c != 1 {
				t.Fatalf("%s committed %d times on %s", tx, c, n.cfg.Moniker)
			}
		}
	}
}
