package sdknet

import (
	"context"
	"fmt"
	"testing"
	"time"
)

const (
	freshStarts      = 10
	freshStartHeight = 20
)

// TestFreshStarts starts a new 4-validator chain (a new genesis from `simd testnet
// init-files`) ten times in a row: every node reaches height 20, all four agree on block
// 20 and its app hash, and each node's app received only calls ABCI's grammar allows,
// with Tutti's one ProcessProposal per height naming the block then finalized.
func TestFreshStarts(t *testing.T) {
	needSDK(t)
	var total time.Duration
	for k := range freshStarts {
		start := time.Now()
		if !t.Run(fmt.Sprintf("start%d", k+1), freshStart) {
			t.Fatalf("fresh start %d failed", k+1)
		}
		d := time.Since(start)
		total += d
		t.Logf("fresh start %d of %d: height %d agreed in %v", k+1, freshStarts, freshStartHeight, d.Round(time.Millisecond))
	}
	t.Logf("%d fresh starts, %v each on average", freshStarts, (total / freshStarts).Round(time.Millisecond))
}

func freshStart(t *testing.T) {
	ctx := context.Background()
	c := newTestChain(t, chainOptions{validators: 4, proxy: true})
	if err := c.startAll(); err != nil {
		t.Fatal(err)
	}
	if err := c.net.WaitHeight(ctx, freshStartHeight, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	var first blockHeader
	for i := range c.nodes {
		b, err := rpcBlock(ctx, c.rpc(i), freshStartHeight)
		if err != nil {
			t.Fatal(err)
		}
		if b.AppHash == "" || b.Hash == "" {
			t.Fatalf("node %d: block %d has hash %q, app hash %q", i, freshStartHeight, b.Hash, b.AppHash)
		}
		if i == 0 {
			first = b
			continue
		}
		if b.Hash != first.Hash || b.AppHash != first.AppHash {
			t.Errorf("block %d: node 0 has hash %s app hash %s, node %d has %s and %s",
				freshStartHeight, first.Hash, first.AppHash, i, b.Hash, b.AppHash)
		}
	}
	// Stop the nodes before judging the calls, so that every record is complete.
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	for i, nd := range c.nodes {
		n, err := nd.proxy.Check()
		if err != nil {
			t.Errorf("node %d's app: %v", i, err)
			continue
		}
		finalized, processed := 0, 0
		for _, s := range nd.proxy.Sessions() {
			for _, call := range s.calls {
				switch call.Method {
				case "FinalizeBlock":
					finalized++
				case "ProcessProposal":
					processed++
				}
			}
		}
		if finalized < freshStartHeight {
			t.Errorf("node %d's app: the proxy recorded %d FinalizeBlock calls, below height %d", i, finalized, freshStartHeight)
		}
		t.Logf("node %d's app: %d consensus calls by the grammar, %d FinalizeBlock, %d ProcessProposal", i, n, finalized, processed)
	}
	for i := range c.nodes {
		if n := countInFile(c.appLog(i), "OE aborted"); n > 0 {
			t.Logf("node %d's simd log has %d 'OE aborted' lines", i, n)
		}
	}
}
