package ledger

import (
	"math/rand"
	"reflect"
	"testing"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// randomBlock draws transfers among few accounts (many conflicts) and many
// (many independent components), some with wrong nonces or amounts.
func randomBlock(t testing.TB, rng *rand.Rand, keys []testKey, nonces map[tx.Address]uint64, n int) [][]byte {
	var raws [][]byte
	for i := 0; i < n; i++ {
		from := keys[rng.Intn(len(keys))]
		to := keys[rng.Intn(len(keys))].addr
		nonce := nonces[from.addr]
		if rng.Intn(10) == 0 {
			nonce += uint64(rng.Intn(3)) // sometimes a gap
		} else {
			nonces[from.addr]++
		}
		raws = append(raws, transfer(t, from, to, uint64(1+rng.Intn(400)), uint64(rng.Intn(3)), nonce))
	}
	return raws
}

func TestParallelExecutionEqualsSequential(t *testing.T) {
	keys := testKeys(40)
	st, err := state.Open(t.TempDir(), state.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	genesis := map[tx.Address]state.Account{}
	for _, k := range keys {
		genesis[k.addr] = state.Account{Balance: 1000}
	}
	if _, err := st.Stage(1, genesis); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	for round := 0; round < 20; round++ {
		subset := keys[:2+rng.Intn(len(keys)-2)]
		raws := randomBlock(t, rng, subset, map[tx.Address]uint64{}, 50+rng.Intn(200))
		seqTxs, parTxs := decodeBlock(raws, testChain), decodeBlock(raws, testChain)
		seq, err := executeSequential(st.Staged(), seqTxs)
		if err != nil {
			t.Fatal(err)
		}
		par, err := executeParallel(st.Staged(), parTxs, 4)
		if err != nil {
			t.Fatal(err)
		}
		for i := range seqTxs {
			if !reflect.DeepEqual(seqTxs[i].err, parTxs[i].err) {
				t.Fatalf("round %d tx %d: sequential %v, parallel %v", round, i, seqTxs[i].err, parTxs[i].err)
			}
		}
		if seq.fees != par.fees || !reflect.DeepEqual(seq.changes.Changes(), par.changes.Changes()) {
			t.Fatalf("round %d: parallel state differs from sequential", round)
		}
	}
}

// TestParallelAppMatchesSequentialApp runs the same blocks through a
// sequential and a parallel ledger: same codes and same app hash every height.
func TestParallelAppMatchesSequentialApp(t *testing.T) {
	keys := testKeys(30)
	seqApp := openApp(t, t.TempDir(), WithWorkers(1), WithExecutionWorkers(1))
	parApp := openApp(t, t.TempDir(), WithWorkers(4), WithExecutionWorkers(4))
	parApp.cfg.parallelMin = 1
	initApp(t, seqApp, keys, 10000)
	initApp(t, parApp, keys, 10000)
	rng := rand.New(rand.NewSource(3))
	nonces := map[tx.Address]uint64{}
	for h := int64(1); h <= 10; h++ {
		raws := randomBlock(t, rng, keys, nonces, 150)
		a, b := runBlock(t, seqApp, h, raws), runBlock(t, parApp, h, raws)
		if !reflect.DeepEqual(codes(a.TxResults), codes(b.TxResults)) || string(a.AppHash) != string(b.AppHash) {
			t.Fatalf("height %d: sequential and parallel ledgers diverge", h)
		}
	}
}
