package sdknet

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Delegated in TestDelegation: 50 units of voting power (the SDK's power reduction is
// 10^6), to node1, from node2's account.
const (
	delegatedPower = 50
	delegateTo     = 1
	delegateFrom   = 2
)

// TestDelegation delegates stake to a validator: the delegation, committed at height H,
// changes that validator's voting_power in Tutti's /validators at H+2 (not at H+1: the
// app's update at H takes effect at H+2, as on CometBFT), by exactly the power delegated,
// and the chain goes on for 5 more heights on every validator.
func TestDelegation(t *testing.T) {
	c := sharedChain(t)
	ctx := context.Background()
	valoper, err := c.keyAddress(ctx, delegateTo, fmt.Sprintf("node%d", delegateTo), "val")
	if err != nil {
		t.Fatal(err)
	}
	consAddr, err := validatorAddress(c, delegateTo)
	if err != nil {
		t.Fatal(err)
	}
	now, err := rpcHeight(ctx, c.rpc(0))
	if err != nil {
		t.Fatal(err)
	}
	before, err := powerOf(ctx, c, 0, now, consAddr)
	if err != nil {
		t.Fatal(err)
	}

	sent, err := c.tx(ctx, delegateFrom, 0, "staking", "delegate", valoper, fmt.Sprintf("%dstake", delegatedPower*1_000_000),
		"--from", fmt.Sprintf("node%d", delegateFrom))
	if err != nil {
		t.Fatal(err)
	}
	if sent.Code != 0 {
		t.Fatalf("tx staking delegate: code %d (%s) %s", sent.Code, sent.Codespace, sent.RawLog)
	}
	committed, err := waitTx(ctx, c.rpc(3), sent.TxHash, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if committed.Code != 0 {
		t.Fatalf("delegation committed at height %d with code %d: %s", committed.Height, committed.Code, committed.Log)
	}
	h := committed.Height
	t.Logf("delegation of power %d to node%d committed at height %d; its power was %d", delegatedPower, delegateTo, h, before)
	if err := waitHeightAll(ctx, c, []int{0, 1, 2, 3}, h+2, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range sharedValidators {
		for _, at := range []struct {
			height int64
			want   int64
		}{{h, before}, {h + 1, before}, {h + 2, before + delegatedPower}} {
			got, err := powerOf(ctx, c, i, at.height, consAddr)
			if err != nil {
				t.Fatal(err)
			}
			if got != at.want {
				t.Errorf("node %d's /validators at height %d (delegation at %d): node%d has voting_power %d, want %d", i, at.height, h, delegateTo, got, at.want)
			}
		}
	}
	if err := waitHeightAll(ctx, c, []int{0, 1, 2, 3}, h+2+5, 30*time.Second); err != nil {
		t.Fatalf("the chain did not go on after the power change: %v", err)
	}
}

// validatorAddress is validator i's consensus address (hex) from the key simd generated.
func validatorAddress(c *chain, i int) (string, error) {
	b, err := os.ReadFile(filepath.Join(c.nodes[i].simdHome, "config", "priv_validator_key.json"))
	if err != nil {
		return "", err
	}
	var k struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return "", err
	}
	return strings.ToUpper(k.Address), nil
}

// powerOf is the voting power node i's /validators gives addr at height (an error if the
// set does not hold it).
func powerOf(ctx context.Context, c *chain, i int, height int64, addr string) (int64, error) {
	vals, err := rpcValidators(ctx, c.rpc(i), height)
	if err != nil {
		return 0, err
	}
	for _, v := range vals {
		if strings.EqualFold(v.Address, addr) {
			return int64(v.VotingPower), nil
		}
	}
	return 0, fmt.Errorf("node %d: /validators at height %d has no %s (%d validators)", i, height, addr, len(vals))
}
