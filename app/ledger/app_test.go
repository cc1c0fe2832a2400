package ledger

import (
	"reflect"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/app/ledger/tx"
)

func checkCode(t *testing.T, app *App, raw []byte, typ abci.CheckTxType) tx.Code {
	t.Helper()
	resp, err := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw, Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return tx.Code(resp.Code)
}

func TestCheckTxAcceptsConsecutiveNoncesAndRechecks(t *testing.T) {
	keys := testKeys(3)
	app := openApp(t, t.TempDir())
	initApp(t, app, keys, 100)
	alice, bob := keys[0], keys[1].addr
	t0, t1, t2 := transfer(t, alice, bob, 30, 1, 0), transfer(t, alice, bob, 30, 1, 1), transfer(t, alice, bob, 30, 1, 2)
	for i, raw := range [][]byte{t0, t1, t2} {
		if c := checkCode(t, app, raw, abci.CheckTxType_New); c != tx.CodeOK {
			t.Fatalf("nonce %d rejected with code %d", i, c)
		}
	}
	if c := checkCode(t, app, t1, abci.CheckTxType_New); c != tx.CodeBadNonce {
		t.Fatalf("replayed nonce 1: code %d, want %d", c, tx.CodeBadNonce)
	}
	if c := checkCode(t, app, transfer(t, alice, bob, 7, 1, 3), abci.CheckTxType_New); c != tx.CodeInsufficientFunds {
		t.Fatalf("4th transfer over the pending balance: code %d", c)
	}
	// The block includes t0 and a competing nonce-1 transfer that reached
	// another validator: the pooled t1 and t2 become invalid at recheck.
	competing, _ := tx.Sign(alice.priv, tx.Transfer{ChainId: testChain, To: keys[2].addr[:], Amount: 60, Fee: 0, Nonce: 1})
	runBlock(t, app, 1, [][]byte{t0, competing})
	if c := checkCode(t, app, t1, abci.CheckTxType_Recheck); c != tx.CodeBadNonce {
		t.Fatalf("recheck of t1 after a competing nonce 1: code %d", c)
	}
	if c := checkCode(t, app, t2, abci.CheckTxType_Recheck); c != tx.CodeInsufficientFunds && c != tx.CodeBadNonce {
		t.Fatalf("recheck of t2: code %d", c)
	}
	if got := balanceOf(t, app, alice.addr); got.Balance != 100-31-60 || got.Nonce != 2 {
		t.Fatalf("alice = %+v", got)
	}
	if got := balanceOf(t, app, proposer); got.Balance != 1 {
		t.Fatalf("proposer collected %d in fees, want 1", got.Balance)
	}
}

func TestCheckTxRejections(t *testing.T) {
	keys := testKeys(2)
	app := openApp(t, t.TempDir())
	initApp(t, app, keys, 100)
	good := transfer(t, keys[0], keys[1].addr, 1, 0, 0)
	forged := append([]byte(nil), good...)
	forged[len(forged)-1] ^= 1 // last byte of the signature
	other, _ := tx.Sign(keys[0].priv, tx.Transfer{ChainId: "other-chain", To: keys[1].addr[:], Amount: 1})
	for name, c := range map[string]struct {
		raw  []byte
		want tx.Code
	}{
		"garbage":     {[]byte("not a tx"), tx.CodeMalformed},
		"bad sig":     {forged, tx.CodeBadSignature},
		"other chain": {other, tx.CodeWrongChain},
		"no funds":    {transfer(t, keys[1], keys[0].addr, 1000, 0, 0), tx.CodeInsufficientFunds},
		"good":        {good, tx.CodeOK},
	} {
		if got := checkCode(t, app, c.raw, abci.CheckTxType_New); got != c.want {
			t.Errorf("%s: code %d, want %d", name, got, c.want)
		}
	}
}

func TestFinalizeBlockResultsAndEvents(t *testing.T) {
	keys := testKeys(2)
	app := openApp(t, t.TempDir())
	genesisHash := initApp(t, app, keys, 50)
	bad := transfer(t, keys[0], keys[1].addr, 1, 0, 0)
	bad[len(bad)-1] ^= 1
	resp := runBlock(t, app, 1, [][]byte{
		transfer(t, keys[0], keys[1].addr, 20, 2, 0),
		transfer(t, keys[0], keys[1].addr, 20, 2, 0), // replay
		bad, // never seen by CheckTx: verified in the block's batch
		transfer(t, keys[1], keys[0].addr, 100, 0, 0),
		[]byte{1, 2, 3},
	})
	want := []uint32{0, uint32(tx.CodeBadNonce), uint32(tx.CodeBadSignature), uint32(tx.CodeInsufficientFunds), uint32(tx.CodeMalformed)}
	if got := codes(resp.TxResults); !reflect.DeepEqual(got, want) {
		t.Fatalf("codes %v, want %v", got, want)
	}
	ev := resp.TxResults[0].Events
	if len(ev) != 1 || ev[0].Type != EventTransfer {
		t.Fatalf("events %v", ev)
	}
	attrs := map[string]string{}
	for _, a := range ev[0].Attributes {
		if !a.Index {
			t.Fatalf("attribute %s not indexed", a.Key)
		}
		attrs[a.Key] = a.Value
	}
	if attrs[AttrSender] != keys[0].addr.String() || attrs[AttrRecipient] != keys[1].addr.String() || attrs[AttrAmount] != "20" {
		t.Fatalf("transfer attributes %v", attrs)
	}
	if string(resp.AppHash) == string(genesisHash) || len(resp.AppHash) != 32 {
		t.Fatal("app hash did not change with the state")
	}
	info, _ := app.Info(ctx, &abci.RequestInfo{})
	if info.LastBlockHeight != 1 || string(info.LastBlockAppHash) != string(resp.AppHash) {
		t.Fatalf("Info = %d %X", info.LastBlockHeight, info.LastBlockAppHash)
	}
}

func TestFinalizeBlockRefusesWrongHeights(t *testing.T) {
	keys := testKeys(1)
	app := openApp(t, t.TempDir())
	if _, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1}); err == nil {
		t.Fatal("FinalizeBlock before InitChain accepted")
	}
	initApp(t, app, keys, 1)
	runBlock(t, app, 1, nil)
	if _, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 3}); err == nil {
		t.Fatal("height gap accepted")
	}
	if _, err := app.Commit(ctx, &abci.RequestCommit{}); err == nil {
		t.Fatal("Commit without FinalizeBlock accepted")
	}
}

func TestAppSideMempool(t *testing.T) {
	keys := testKeys(2)
	app := openApp(t, t.TempDir())
	initApp(t, app, keys, 100)
	var raws [][]byte
	for n := uint64(0); n < 3; n++ {
		raw := transfer(t, keys[0], keys[1].addr, 10, 0, n)
		raws = append(raws, raw)
		if r, _ := app.InsertTx(ctx, &abci.RequestInsertTx{Tx: raw}); r.Code != 0 {
			t.Fatalf("InsertTx nonce %d: code %d", n, r.Code)
		}
	}
	if r, _ := app.InsertTx(ctx, &abci.RequestInsertTx{Tx: raws[1]}); r.Code == 0 {
		t.Fatal("duplicate InsertTx accepted")
	}
	reaped, _ := app.ReapTxs(ctx, &abci.RequestReapTxs{MaxBytes: uint64(len(raws[0]) + len(raws[1]))})
	if !reflect.DeepEqual(reaped.Txs, raws[:2]) {
		t.Fatalf("reaped %d txs, want the first 2 in order", len(reaped.Txs))
	}
	runBlock(t, app, 1, raws[:1])
	reaped, _ = app.ReapTxs(ctx, &abci.RequestReapTxs{})
	if !reflect.DeepEqual(reaped.Txs, raws[1:]) {
		t.Fatalf("after commit %d txs pooled, want nonces 1 and 2", len(reaped.Txs))
	}
}

func TestPrepareAndProcessProposal(t *testing.T) {
	keys := testKeys(2)
	app := openApp(t, t.TempDir())
	initApp(t, app, keys, 100)
	ok0, ok1 := transfer(t, keys[0], keys[1].addr, 10, 0, 0), transfer(t, keys[0], keys[1].addr, 10, 0, 1)
	gap := transfer(t, keys[0], keys[1].addr, 10, 0, 5)
	prep, err := app.PrepareProposal(ctx, &abci.RequestPrepareProposal{MaxTxBytes: 1 << 20, Txs: [][]byte{ok0, gap, []byte("junk"), ok1}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(prep.Txs, [][]byte{ok0, ok1}) {
		t.Fatalf("prepared %d txs, want the 2 valid ones in order", len(prep.Txs))
	}
	small, _ := app.PrepareProposal(ctx, &abci.RequestPrepareProposal{MaxTxBytes: int64(len(ok0)), Txs: [][]byte{ok0, ok1}})
	if len(small.Txs) != 1 {
		t.Fatalf("MaxTxBytes for one tx gave %d", len(small.Txs))
	}
	acc, _ := app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: [][]byte{ok0, gap}})
	rej, _ := app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: [][]byte{ok0, []byte("junk")}})
	if acc.Status != abci.ResponseProcessProposal_ACCEPT || rej.Status != abci.ResponseProcessProposal_REJECT {
		t.Fatalf("ProcessProposal: %v, %v", acc.Status, rej.Status)
	}
}
