package sdknet

import (
	"context"
	"testing"
	"time"
)

const healthyHeights = 150

// TestHealthy150 runs the shared chain, with nothing done to it but transactions, to
// height 150: all 4 validators are BONDED and not jailed, x/slashing never counted a
// missed block for any of them (signing infos sampled from genesis on, less than a
// signed-blocks window apart, all show missed_blocks_counter 0), and no simd log has
// "OE aborted" (optimistic execution never threw a ProcessProposal's work away).
func TestHealthy150(t *testing.T) {
	c := sharedChain(t)
	if f := sharedFault(); f != "" {
		t.Fatalf("the shared chain had a fault (%s) before this test; run it before TestRelayRoundRobin", f)
	}
	ctx := context.Background()
	start := time.Now()
	if err := c.net.WaitHeight(ctx, healthyHeights, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("height %d reached (%v in this test)", healthyHeights, time.Since(start).Round(time.Millisecond))
	if f := sharedFault(); f != "" {
		t.Fatalf("the shared chain had a fault: %s", f)
	}

	var params struct {
		Params struct {
			SignedBlocksWindow int64s `json:"signed_blocks_window"`
		} `json:"params"`
	}
	if err := c.queryJSON(ctx, 0, &params, "slashing", "params"); err != nil {
		t.Fatal(err)
	}
	window := int64(params.Params.SignedBlocksWindow)
	if window <= 0 {
		t.Fatalf("slashing params: signed_blocks_window %d", window)
	}
	// One more sample now, at or above the height.
	shared.monitor.sample(0)
	maxMissed, samples, err := shared.monitor.report(window, healthyHeights)
	if err != nil {
		t.Fatal(err)
	}
	h, err := rpcHeight(ctx, c.rpc(0))
	if err != nil {
		t.Fatal(err)
	}
	infos, err := c.signingInfos(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != sharedValidators {
		t.Errorf("%d signing infos, want %d", len(infos), sharedValidators)
	}
	for _, in := range infos {
		if in.MissedBlocksCounter != 0 || maxMissed[in.Address] != 0 || in.Tombstoned {
			t.Errorf("%s: missed_blocks_counter %d now, at most %d in %d samples since genesis, tombstoned %v; want 0 throughout",
				in.Address, in.MissedBlocksCounter, maxMissed[in.Address], samples, in.Tombstoned)
		}
		// x/slashing moves index_offset on for every height whose last commit lists the
		// validator (from height 2 on), signed or not: a validator left out of
		// decided_last_commit would never count as missing, but would fall behind here.
		if int64(in.IndexOffset) < h-1-int64(in.StartHeight) {
			t.Errorf("%s: index_offset %d at height %d or later (start height %d): x/slashing did not see it in every height's last commit",
				in.Address, in.IndexOffset, h, in.StartHeight)
		}
	}
	t.Logf("missed_blocks_counter per validator, the highest of %d samples (window %d): %v", samples, window, maxMissed)

	var vals struct {
		Validators []struct {
			OperatorAddress string `json:"operator_address"`
			Status          string `json:"status"`
			Jailed          bool   `json:"jailed"`
		} `json:"validators"`
	}
	if err := c.queryJSON(ctx, 0, &vals, "staking", "validators"); err != nil {
		t.Fatal(err)
	}
	bonded := 0
	for _, v := range vals.Validators {
		if v.Status == "BOND_STATUS_BONDED" && !v.Jailed {
			bonded++
		} else {
			t.Errorf("validator %s: status %s, jailed %v", v.OperatorAddress, v.Status, v.Jailed)
		}
	}
	if bonded != sharedValidators || len(vals.Validators) != sharedValidators {
		t.Errorf("%d of %d validators bonded, want %d", bonded, len(vals.Validators), sharedValidators)
	}

	aborted := 0
	for i := range c.nodes {
		n := countInFile(c.appLog(i), "OE aborted")
		aborted += n
		if n > 0 {
			t.Errorf("node %d's simd log has %d 'OE aborted' lines (%s)", i, n, c.appLog(i))
		}
	}
	t.Logf("'OE aborted' in the simd logs: %d", aborted)
}
