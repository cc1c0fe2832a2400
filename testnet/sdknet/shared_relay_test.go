package sdknet

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	relayTransfers = 20
	relayInterval  = 500 * time.Millisecond
	relayFrom      = 3 // the sending account is node3's
	relayKilled    = 2 // the validator killed after acknowledging a transfer
)

// TestRelayRoundRobin sends 20 transfers from one account, with consecutive sequences,
// each 0.5 s after the one before to the next of the 4 validators: each is accepted
// (CheckTx at a node that may not have executed the one before, which the mempools relay)
// and all 20 commit with code 0. Then a transfer sent to the full node commits, and one
// acknowledged by a validator that is killed (its node and its simd, SIGKILL) right
// after the acknowledgement still commits, as another node sees. It kills a validator
// of the shared chain, so it runs last.
func TestRelayRoundRobin(t *testing.T) {
	c := sharedChain(t)
	ctx := context.Background()
	from, err := c.keyAddress(ctx, relayFrom, fmt.Sprintf("node%d", relayFrom), "acc")
	if err != nil {
		t.Fatal(err)
	}
	to := newAddress(t, c, relayFrom)
	accNum, seq, err := c.account(ctx, 0, from)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	txs, err := c.signedTransfers(ctx, relayFrom, fmt.Sprintf("node%d", relayFrom), to, "1000stake", accNum, seq, relayTransfers+2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("signed %d transfers offline (account %d, sequences %d..%d) in %v", len(txs), accNum, seq, seq+int64(len(txs))-1, time.Since(start).Round(time.Millisecond))

	// Round robin, on a fixed schedule.
	type sent struct {
		node int
		res  broadcastResult
		err  error
	}
	results := make([]sent, relayTransfers)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range relayTransfers {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * relayInterval)))
		node := i % sharedValidators
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := rpcBroadcastSync(ctx, c.rpc(node), txs[i])
			results[i] = sent{node, res, err}
		}()
	}
	wg.Wait()
	accepted := 0
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("transfer %d (sequence %d) to node %d: %v", i, seq+int64(i), r.node, r.err)
		case r.res.Code != 0:
			t.Errorf("transfer %d (sequence %d) to node %d: CheckTx code %d: %s", i, seq+int64(i), r.node, r.res.Code, r.res.Log)
		default:
			accepted++
		}
	}
	committed, lastHeight := 0, int64(0)
	for i := range relayTransfers {
		tx, err := waitTx(ctx, c.rpc(0), txHash(txs[i]), 60*time.Second)
		if err != nil {
			t.Errorf("transfer %d (sequence %d, sent to node %d): %v", i, seq+int64(i), results[i].node, err)
			continue
		}
		if tx.Code != 0 {
			t.Errorf("transfer %d (sequence %d) committed at height %d with code %d: %s", i, seq+int64(i), tx.Height, tx.Code, tx.Log)
			continue
		}
		committed++
		lastHeight = max(lastHeight, tx.Height)
	}
	t.Logf("round robin: %d of %d accepted, %d of %d committed with code 0 (last at height %d)", accepted, relayTransfers, committed, relayTransfers, lastHeight)
	if committed != relayTransfers {
		t.Fatalf("only %d of %d round-robin transfers committed; the rest depend on them", committed, relayTransfers)
	}

	// To the full node, once it has executed the 20 (its CheckTx needs the sequence).
	if err := waitHeightAll(ctx, c, []int{fullNode, relayKilled}, lastHeight, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	tx := txs[relayTransfers]
	res, err := rpcBroadcastSync(ctx, c.rpc(fullNode), tx)
	if err != nil || res.Code != 0 {
		t.Fatalf("transfer to the full node: %v, code %d: %s", err, res.Code, res.Log)
	}
	got, err := waitTx(ctx, c.rpc(0), txHash(tx), 30*time.Second)
	if err != nil {
		t.Fatalf("transfer sent to the full node: %v", err)
	}
	if got.Code != 0 {
		t.Fatalf("transfer sent to the full node committed with code %d: %s", got.Code, got.Log)
	}
	t.Logf("transfer sent to the full node committed at height %d", got.Height)

	// To a validator killed right after it acknowledges.
	if err := waitHeightAll(ctx, c, []int{relayKilled}, got.Height, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	tx = txs[relayTransfers+1]
	survivors := []int{}
	countsBefore := map[int]map[string]float64{}
	for i := range c.nodes {
		if i != relayKilled {
			survivors = append(survivors, i)
			countsBefore[i], _ = c.relayCounts(ctx, i)
		}
	}
	res, err = rpcBroadcastSync(ctx, c.rpc(relayKilled), tx)
	markFault(fmt.Sprintf("node %d killed by TestRelayRoundRobin", relayKilled))
	c.killNode(relayKilled)
	if err != nil || res.Code != 0 {
		t.Fatalf("transfer to node %d: %v, code %d: %s", relayKilled, err, res.Code, res.Log)
	}
	killedAt := time.Now()
	// Where the transfer is, for the report if it never commits.
	time.Sleep(500 * time.Millisecond)
	var where []string
	for _, i := range survivors {
		held, size, err := mempoolHolds(ctx, c.rpc(i), tx)
		h, _ := rpcHeight(ctx, c.rpc(i))
		after, _ := c.relayCounts(ctx, i)
		where = append(where, fmt.Sprintf("node %d at height %d: mempool of %d holds it: %v (%v), relay counters since the send: %s",
			i, h, size, held, err, countsDelta(countsBefore[i], after)))
	}
	t.Logf("0.5 s after the kill: %s", strings.Join(where, "; "))
	got, err = waitTx(ctx, c.rpc(0), txHash(tx), 60*time.Second)
	if err != nil {
		t.Fatalf("transfer acknowledged by node %d, then killed: %v; 0.5 s after the kill: %s", relayKilled, err, strings.Join(where, "; "))
	}
	if got.Code != 0 {
		t.Fatalf("transfer acknowledged by the killed node committed with code %d: %s", got.Code, got.Log)
	}
	t.Logf("transfer acknowledged by node %d, killed right after, committed at height %d, %v after the kill",
		relayKilled, got.Height, time.Since(killedAt).Round(time.Millisecond))
}

// countsDelta writes what changed between two readings of a node's relay counters.
func countsDelta(before, after map[string]float64) string {
	var out []string
	for _, status := range []string{"admitted", "refused", "limited", "dropped", "sent", "unsent"} {
		out = append(out, fmt.Sprintf("%s +%v", status, after[status]-before[status]))
	}
	return strings.Join(out, ", ")
}
