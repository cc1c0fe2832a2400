package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

const testChain = "ledger-test"

var ctx = context.Background()

type testKey struct {
	priv ed25519.PrivKey
	addr tx.Address
}

func testKeys(n int) []testKey {
	keys := make([]testKey, n)
	for i := range keys {
		priv := ed25519.GenPrivKeyFromSecret([]byte(fmt.Sprintf("key-%d", i)))
		keys[i] = testKey{priv: priv, addr: tx.AddressFromPubKey(priv.PubKey().Bytes())}
	}
	return keys
}

func genesisJSON(t testing.TB, keys []testKey, balance uint64) []byte {
	var g state.Genesis
	for _, k := range keys {
		g.Accounts = append(g.Accounts, state.GenesisAccount{Address: k.addr.String(), Balance: strconv.FormatUint(balance, 10)})
	}
	raw, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func transfer(t testing.TB, from testKey, to tx.Address, amount, fee, nonce uint64) []byte {
	raw, err := tx.Sign(from.priv, tx.Transfer{ChainId: testChain, To: to[:], Amount: amount, Fee: fee, Nonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// openApp opens a ledger in dir and closes it at the end of the test.
func openApp(t testing.TB, dir string, opts ...Option) *App {
	t.Helper()
	app, err := New(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app
}

func initApp(t testing.TB, app *App, keys []testKey, balance uint64) []byte {
	t.Helper()
	resp, err := app.InitChain(ctx, &abci.RequestInitChain{ChainId: testChain, InitialHeight: 1, AppStateBytes: genesisJSON(t, keys, balance)})
	if err != nil {
		t.Fatal(err)
	}
	return resp.AppHash
}

// proposer is a fixed 20-byte validator address receiving the fees.
var proposer = tx.AddressFromPubKey([]byte("validator"))

func runBlock(t testing.TB, app *App, height int64, txs [][]byte) *abci.ResponseFinalizeBlock {
	t.Helper()
	resp, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height, Txs: txs, ProposerAddress: proposer[:]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	return resp
}

func balanceOf(t testing.TB, app *App, addr tx.Address) state.Account {
	t.Helper()
	acc, err := app.store.Account(addr)
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

func codes(results []*abci.ExecTxResult) []uint32 {
	out := make([]uint32, len(results))
	for i, r := range results {
		out[i] = r.Code
	}
	return out
}
