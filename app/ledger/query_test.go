package ledger

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

func queryAccount(t *testing.T, app *App, addr tx.Address, height int64) (state.Account, *state.Proof, int64) {
	t.Helper()
	resp, err := app.Query(ctx, &abci.RequestQuery{Path: QueryBalance, Data: addr[:], Height: height, Prove: true})
	if err != nil || resp.Code != 0 {
		t.Fatalf("query: %v %s", err, resp.GetLog())
	}
	var rec state.AccountRecord
	if err := rec.Unmarshal(resp.Value); err != nil {
		t.Fatal(err)
	}
	if resp.ProofOps == nil || len(resp.ProofOps.Ops) != 1 || resp.ProofOps.Ops[0].Type != state.ProofOpType {
		t.Fatal("no proof op")
	}
	p, err := state.DecodeProof(resp.ProofOps.Ops[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	return state.Account{Balance: rec.Balance, Nonce: rec.Nonce}, p, resp.Height
}

func TestBalanceQueryProofs(t *testing.T) {
	keys := testKeys(20)
	app := openApp(t, t.TempDir(), WithKeepVersions(3))
	initApp(t, app, keys, 500)
	hashes := map[int64][]byte{}
	for h := int64(1); h <= 6; h++ {
		resp := runBlock(t, app, h, [][]byte{transfer(t, keys[0], keys[1].addr, 10, 1, uint64(h-1))})
		hashes[h] = resp.AppHash
	}
	for _, h := range []int64{4, 5, 6} {
		acc, p, got := queryAccount(t, app, keys[1].addr, h)
		if got != h || acc.Balance != 500+10*uint64(h) {
			t.Fatalf("height %d: got height %d balance %d", h, got, acc.Balance)
		}
		if err := state.VerifyAccount(hashes[h], keys[1].addr, acc, p); err != nil {
			t.Fatalf("height %d: valid proof rejected: %v", h, err)
		}
		if err := state.VerifyAccount(hashes[h-1], keys[1].addr, acc, p); err == nil {
			t.Fatalf("height %d: proof verified against the previous app hash", h)
		}
		lie := acc
		lie.Balance++
		if err := state.VerifyAccount(hashes[h], keys[1].addr, lie, p); err == nil {
			t.Fatal("inflated balance verified")
		}
		p.Leaf.Balance++
		if err := state.VerifyAccount(hashes[h], keys[1].addr, lie, p); err == nil {
			t.Fatal("tampered proof leaf verified")
		}
	}
	// An address with no account: proven absent (zero account).
	stranger := tx.AddressFromPubKey([]byte("nobody"))
	acc, p, _ := queryAccount(t, app, stranger, 0)
	if acc != (state.Account{}) {
		t.Fatalf("stranger holds %+v", acc)
	}
	if err := state.VerifyAccount(hashes[6], stranger, acc, p); err != nil {
		t.Fatalf("absence proof rejected: %v", err)
	}
	if err := state.VerifyAccount(hashes[6], stranger, state.Account{Balance: 1}, p); err == nil {
		t.Fatal("absence proof accepted for a positive balance")
	}
	// Height 3 fell out of the 3 retained versions.
	resp, _ := app.Query(ctx, &abci.RequestQuery{Path: QueryBalance, Data: keys[1].addr[:], Height: 3})
	if resp.Code != uint32(tx.CodeBadQuery) {
		t.Fatalf("pruned height answered with code %d", resp.Code)
	}
	resp, _ = app.Query(ctx, &abci.RequestQuery{Path: "/nope", Data: keys[1].addr[:]})
	if resp.Code != uint32(tx.CodeBadQuery) {
		t.Fatal("unknown path accepted")
	}
	hexResp, _ := app.Query(ctx, &abci.RequestQuery{Path: QueryBalance, Data: []byte(keys[1].addr.String())})
	if hexResp.Code != 0 {
		t.Fatalf("hex address query: %s", hexResp.Log)
	}
}
