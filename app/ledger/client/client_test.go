package client

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"

	"github.com/tutti-bft/tutti/app/ledger"
	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

var ctx = context.Background()

// ledgerWithTransfers runs a real ledger through two blocks of transfers
// built by a Sender and returns it with the app hash of height 2.
func ledgerWithTransfers(t *testing.T) (*ledger.App, tx.Address, []byte) {
	alice := ed25519.GenPrivKeyFromSecret([]byte("alice"))
	bob := tx.AddressFromPubKey([]byte("bob"))
	app, err := ledger.New(filepath.Join(t.TempDir(), "ledger"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	sender := NewSender(alice, "client-test", 0)
	appState, _ := json.Marshal(state.Genesis{Accounts: []state.GenesisAccount{{Address: sender.Address().String(), Balance: "1000"}}})
	if _, err := app.InitChain(ctx, &abci.RequestInitChain{ChainId: "client-test", AppStateBytes: appState}); err != nil {
		t.Fatal(err)
	}
	var appHash []byte
	for h := int64(1); h <= 2; h++ {
		var block [][]byte
		for i := 0; i < 3; i++ { // consecutive nonces, admitted back to back
			raw, err := sender.Next(bob, 10, 1, "")
			if err != nil {
				t.Fatal(err)
			}
			if r, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw}); r.Code != 0 {
				t.Fatalf("CheckTx of the sender's transfer %d: %s", i, r.Log)
			}
			block = append(block, raw)
		}
		resp, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Txs: block})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.TxResults {
			if r.Code != 0 {
				t.Fatalf("height %d: %s", h, r.Log)
			}
		}
		appHash = resp.AppHash
		if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
	}
	return app, bob, appHash
}

func TestVerifyAccountProof(t *testing.T) {
	app, bob, appHash := ledgerWithTransfers(t)
	resp, err := app.Query(ctx, &abci.RequestQuery{Path: ledger.QueryBalance, Data: bob[:], Prove: true})
	if err != nil || resp.Code != 0 {
		t.Fatal(err, resp.Log)
	}
	var rec state.AccountRecord
	if err := rec.Unmarshal(resp.Value); err != nil {
		t.Fatal(err)
	}
	acc := state.Account{Balance: rec.Balance, Nonce: rec.Nonce}
	if acc.Balance != 60 {
		t.Fatalf("bob holds %d, want 60", acc.Balance)
	}
	if err := VerifyAccountProof(appHash, bob, acc, resp.ProofOps); err != nil {
		t.Fatalf("genuine proof rejected: %v", err)
	}
	tamper := func(name string, mut func(ops *cmtcrypto.ProofOps, acc *state.Account, hash []byte)) {
		ops := &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{resp.ProofOps.Ops[0]}}
		ops.Ops[0].Data = append([]byte(nil), ops.Ops[0].Data...)
		a, h := acc, append([]byte(nil), appHash...)
		mut(ops, &a, h)
		if err := VerifyAccountProof(h, bob, a, ops); err == nil {
			t.Errorf("%s: tampered proof verified", name)
		}
	}
	tamper("balance", func(_ *cmtcrypto.ProofOps, a *state.Account, _ []byte) { a.Balance++ })
	tamper("nonce", func(_ *cmtcrypto.ProofOps, a *state.Account, _ []byte) { a.Nonce++ })
	tamper("app hash", func(_ *cmtcrypto.ProofOps, _ *state.Account, h []byte) { h[0] ^= 1 })
	tamper("proof byte", func(o *cmtcrypto.ProofOps, _ *state.Account, _ []byte) { o.Ops[0].Data[5] ^= 1 })
	tamper("op type", func(o *cmtcrypto.ProofOps, _ *state.Account, _ []byte) { o.Ops[0].Type = "iavl:v" })
	tamper("op key", func(o *cmtcrypto.ProofOps, _ *state.Account, _ []byte) { o.Ops[0].Key = []byte("someone else") })
	tamper("truncated", func(o *cmtcrypto.ProofOps, _ *state.Account, _ []byte) { o.Ops[0].Data = o.Ops[0].Data[:7] })
	if err := VerifyAccountProof(appHash, bob, acc, nil); err == nil {
		t.Error("missing proof verified")
	}
}

func TestSenderNonces(t *testing.T) {
	key := ed25519.GenPrivKeyFromSecret([]byte("k"))
	s := NewSender(key, "c", 41)
	to := tx.AddressFromPubKey([]byte("to"))
	for want := uint64(41); want < 44; want++ {
		raw, err := s.Next(to, 5, 1, "m")
		if err != nil {
			t.Fatal(err)
		}
		got, e := tx.Decode(raw)
		if e != nil || !got.VerifySignature() || got.Transfer.Nonce != want || got.Sender() != s.Address() {
			t.Fatalf("transfer %d: %v", want, e)
		}
	}
}
