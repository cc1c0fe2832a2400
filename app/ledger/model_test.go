package ledger

import (
	"math/rand"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// refModel is the ledger written as plainly as possible: a map and the rules.
type refModel struct {
	accounts map[tx.Address]state.Account
}

type txKind int

const (
	kindValid txKind = iota
	kindMalformed
	kindBadSignature
	kindWrongChain
	kindZeroAmount
	kindLongMemo
	kindCount
)

type txSpec struct {
	kind        txKind
	from        testKey
	to          tx.Address
	amount, fee uint64
	nonce       uint64
}

func (s txSpec) encode(t *testing.T) []byte {
	tr := tx.Transfer{ChainId: testChain, To: s.to[:], Amount: s.amount, Fee: s.fee, Nonce: s.nonce}
	switch s.kind {
	case kindMalformed:
		return []byte{0x0a, 0x05, 1, 2}
	case kindWrongChain:
		tr.ChainId = "not-" + testChain
	case kindZeroAmount:
		tr.Amount = 0
	case kindLongMemo:
		tr.Memo = string(make([]byte, tx.MaxMemoBytes+1))
	}
	raw, err := tx.Sign(s.from.priv, tr)
	if err != nil {
		t.Fatal(err)
	}
	if s.kind == kindBadSignature {
		raw[len(raw)-3] ^= 0x40
	}
	return raw
}

// apply runs one transfer on m and returns its expected code; fees are
// returned for crediting at the end of the block.
func (m *refModel) apply(s txSpec) (tx.Code, uint64) {
	switch s.kind {
	case kindMalformed:
		return tx.CodeMalformed, 0
	case kindBadSignature:
		return tx.CodeBadSignature, 0
	case kindWrongChain:
		return tx.CodeWrongChain, 0
	case kindZeroAmount:
		return tx.CodeInvalidAmount, 0
	case kindLongMemo:
		return tx.CodeTooLarge, 0
	}
	from := m.accounts[s.from.addr]
	if s.nonce != from.Nonce {
		return tx.CodeBadNonce, 0
	}
	if from.Balance < s.amount+s.fee {
		return tx.CodeInsufficientFunds, 0
	}
	from.Balance -= s.amount + s.fee
	from.Nonce++
	m.accounts[s.from.addr] = from
	to := m.accounts[s.to]
	to.Balance += s.amount
	m.accounts[s.to] = to
	return tx.CodeOK, s.fee
}

func (m *refModel) clone() *refModel {
	c := &refModel{accounts: make(map[tx.Address]state.Account, len(m.accounts))}
	for a, acc := range m.accounts {
		c.accounts[a] = acc
	}
	return c
}

func TestModelBasedRandomTransfers(t *testing.T) {
	const heights, supplyPerKey = 40, 1000
	keys := testKeys(12)
	funded := keys[:8] // the other 4 start empty
	rng := rand.New(rand.NewSource(20261122))
	dir := t.TempDir()
	app := openApp(t, dir, WithWorkers(3), WithExecutionWorkers(3))
	app.cfg.parallelMin = 1
	initApp(t, app, funded, supplyPerKey)
	model := &refModel{accounts: map[tx.Address]state.Account{}}
	for _, k := range funded {
		model.accounts[k.addr] = state.Account{Balance: supplyPerKey}
	}
	supply := uint64(len(funded) * supplyPerKey)
	proposers := []tx.Address{proposer, keys[0].addr, keys[9].addr}
	seen := map[uint32]int{}

	for h := int64(1); h <= heights; h++ {
		pending := model.clone()
		var specs []txSpec
		for i := rng.Intn(25); i > 0; i-- {
			s := txSpec{kind: kindValid, from: keys[rng.Intn(len(keys))], to: keys[rng.Intn(len(keys))].addr, fee: uint64(rng.Intn(4))}
			if rng.Intn(5) == 0 {
				s.kind = txKind(1 + rng.Intn(int(kindCount)-1))
			}
			s.nonce = pending.accounts[s.from.addr].Nonce
			if rng.Intn(6) == 0 {
				s.nonce += uint64(rng.Intn(3)) - 1 // replay, current or gap
			}
			bal := pending.accounts[s.from.addr].Balance
			s.amount = 1 + uint64(rng.Int63n(int64(bal/2+20))) // sometimes more than the balance
			specs = append(specs, s)
			want, _ := pending.apply(s)
			resp, err := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: s.encode(t)})
			if err != nil {
				t.Fatal(err)
			}
			if tx.Code(resp.Code) != want {
				t.Fatalf("height %d CheckTx: code %d, model %d (%s)", h, resp.Code, want, resp.Log)
			}
		}
		raws := make([][]byte, len(specs))
		wantCodes := make([]uint32, len(specs))
		var fees uint64
		prev := model.clone()
		for i, s := range specs {
			raws[i] = s.encode(t)
			code, fee := model.apply(s)
			wantCodes[i], fees = uint32(code), fees+fee
		}
		feeTo := proposers[rng.Intn(len(proposers))]
		acc := model.accounts[feeTo]
		acc.Balance += fees
		model.accounts[feeTo] = acc

		resp, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Txs: raws, ProposerAddress: feeTo[:]})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
		for i, c := range codes(resp.TxResults) {
			seen[c]++
			if c != wantCodes[i] {
				t.Fatalf("height %d tx %d: code %d, model %d (%s)", h, i, c, wantCodes[i], resp.TxResults[i].Log)
			}
		}
		var total uint64
		for _, k := range append(keys, testKey{addr: proposer}) {
			got := balanceOf(t, app, k.addr)
			if got != model.accounts[k.addr] {
				t.Fatalf("height %d account %s: ledger %+v, model %+v", h, k.addr, got, model.accounts[k.addr])
			}
			if got.Nonce < prev.accounts[k.addr].Nonce {
				t.Fatalf("height %d: nonce of %s went back", h, k.addr)
			}
			if got.Balance > supply {
				t.Fatalf("height %d: %s holds %d, more than the supply (a wrapped negative)", h, k.addr, got.Balance)
			}
			total += got.Balance
		}
		if total != supply {
			t.Fatalf("height %d: total supply %d, genesis %d", h, total, supply)
		}
		if h == heights {
			t.Logf("result codes seen (code: count): %v", seen)
			for code := tx.CodeOK; code <= tx.CodeInvalidAmount; code++ {
				if seen[uint32(code)] == 0 {
					t.Errorf("the random sequence never produced code %d", code)
				}
			}
		}
		if h%13 == 0 { // restart from disk now and then
			app.Close()
			app = openApp(t, dir, WithWorkers(3), WithExecutionWorkers(3))
			app.cfg.parallelMin = 1
		}
	}
}
