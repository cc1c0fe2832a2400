package rpc_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
)

// TestTxSearchQueryLanguage commits transactions whose kvstore events carry known values
// (app.key is the key and the value of "key=value") and checks every operator of
// CometBFT's query language, AND, paging and order_by against them.
func TestTxSearchQueryLanguage(t *testing.T) {
	tn := shared(t)
	c := tn.client(t)
	ctx := context.Background()
	tag := fmt.Sprintf("q%d", time.Now().UnixNano())
	// Values 1001..1005: numbers for the range operators.
	var heights []int64
	for i := 1; i <= 5; i++ {
		res, err := c.BroadcastTxCommit(ctx, cmttypes.Tx(fmt.Sprintf("%s-%d=%d", tag, i, 1000+i)))
		if err != nil || res.TxResult.Code != 0 {
			t.Fatalf("tx %d: %+v, %v", i, res, err)
		}
		heights = append(heights, res.Height)
	}
	count := func(q string) int {
		t.Helper()
		res, err := c.TxSearch(ctx, q, false, nil, ptr(100), "")
		if err != nil {
			t.Fatalf("tx_search %q: %v", q, err)
		}
		return res.TotalCount
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{fmt.Sprintf("app.key = '%s-3'", tag), 1},
		{fmt.Sprintf("app.key CONTAINS '%s-'", tag), 5},
		{"app.key > 1002 AND app.key <= 1004", 2},
		{"app.key >= 1001 AND app.key < 1002", 1},
		{fmt.Sprintf("app.key CONTAINS '%s' AND app.key > 1003", tag), 2},
		{fmt.Sprintf("app.key CONTAINS '%s' AND app.noindex_key EXISTS", tag), 0}, // not indexed: not searchable
		{fmt.Sprintf("app.key CONTAINS '%s' AND app.index_key EXISTS", tag), 5},
		{fmt.Sprintf("app.key CONTAINS '%s' AND tx.height >= %d AND tx.height <= %d", tag, heights[1], heights[3]), 3},
		{fmt.Sprintf("app.key CONTAINS '%s' AND tx.height > %d", tag, heights[4]), 0},
		{fmt.Sprintf("app.key = '%s-9'", tag), 0},
		{"app.key = 1003.0", 1}, // a number argument compares as a number: "1003" matches
	} {
		if got := count(tc.query); got != tc.want {
			t.Errorf("tx_search %q: %d results, want %d", tc.query, got, tc.want)
		}
	}

	// Paging and order: 5 results, 2 per page.
	q := fmt.Sprintf("app.key CONTAINS '%s-'", tag)
	var asc []string
	for pg := 1; pg <= 3; pg++ {
		res, err := c.TxSearch(ctx, q, false, ptr(pg), ptr(2), "asc")
		if err != nil {
			t.Fatal(err)
		}
		if res.TotalCount != 5 || len(res.Txs) != min(2, 5-2*(pg-1)) {
			t.Fatalf("page %d: %d of %d", pg, len(res.Txs), res.TotalCount)
		}
		for _, r := range res.Txs {
			asc = append(asc, string(r.Tx))
		}
	}
	for i := range asc {
		if !strings.HasPrefix(asc[i], fmt.Sprintf("%s-%d=", tag, i+1)) {
			t.Errorf("ascending order: %v", asc)
			break
		}
	}
	desc, err := c.TxSearch(ctx, q, false, ptr(1), ptr(5), "desc")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(desc.Txs[0].Tx), tag+"-5=") || !strings.HasPrefix(string(desc.Txs[4].Tx), tag+"-1=") {
		t.Errorf("descending order starts with %s", desc.Txs[0].Tx)
	}
	if _, err := c.TxSearch(ctx, q, false, ptr(4), ptr(2), ""); err == nil || !strings.Contains(err.Error(), "page should be within [1, 3] range, given 4") {
		t.Errorf("page 4 of 3: %v", err)
	}
	if _, err := c.TxSearch(ctx, q, false, nil, nil, "sideways"); err == nil || !strings.Contains(err.Error(), "order_by") {
		t.Errorf("order_by sideways: %v", err)
	}
	if _, err := c.TxSearch(ctx, "app.key ==", false, nil, nil, ""); err == nil {
		t.Error("an unparsable query succeeded")
	}
	// prove gives each result's proof.
	proved, err := c.TxSearch(ctx, fmt.Sprintf("app.key='%s-2'", tag), true, nil, nil, "")
	if err != nil || len(proved.Txs) != 1 {
		t.Fatalf("tx_search with prove: %v", err)
	}
	blk, err := c.Block(ctx, &proved.Txs[0].Height)
	if err != nil {
		t.Fatal(err)
	}
	if err := proved.Txs[0].Proof.Validate(blk.Block.DataHash); err != nil {
		t.Errorf("tx_search proof: %v", err)
	}
}

// TestBlockSearch finds heights by block.height and by the FinalizeBlock events the
// kvstore emits (begin_event.foo is 100 and 200 on even heights, 400 on odd ones).
func TestBlockSearch(t *testing.T) {
	tn := shared(t)
	c := tn.client(t)
	ctx := context.Background()
	tn.waitHeight(t, 6)

	res, err := c.BlockSearch(ctx, "block.height <= 6 AND begin_event.foo = 400", nil, nil, "asc")
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalCount != 3 || len(res.Blocks) != 3 || res.Blocks[0].Block.Height != 1 || res.Blocks[2].Block.Height != 5 {
		t.Errorf("odd heights up to 6: %d results", res.TotalCount)
	}
	res, err = c.BlockSearch(ctx, "block.height = 4", nil, nil, "")
	if err != nil || res.TotalCount != 1 || res.Blocks[0].Block.Height != 4 {
		t.Fatalf("block.height = 4: %+v, %v", res, err)
	}
	stored, err := c.Block(ctx, ptr(int64(4)))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Blocks[0].BlockID.Hash) != string(stored.BlockID.Hash) {
		t.Error("block_search's block 4 is not block 4")
	}
	// Default order is descending; paging as tx_search.
	res, err = c.BlockSearch(ctx, "block.height > 1 AND block.height < 6 AND begin_event.bar EXISTS", ptr(2), ptr(3), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalCount != 4 || len(res.Blocks) != 1 || res.Blocks[0].Block.Height != 2 {
		t.Errorf("page 2 of heights 5..2 by 3: total %d, %d blocks", res.TotalCount, len(res.Blocks))
	}
	res, err = c.BlockSearch(ctx, "begin_event.foo > 150 AND begin_event.foo < 250 AND block.height <= 6", nil, nil, "asc")
	if err != nil || res.TotalCount != 3 {
		t.Errorf("foo in (150, 250) up to 6 (heights 2, 4, 6): %v, %v", res, err)
	}
}
