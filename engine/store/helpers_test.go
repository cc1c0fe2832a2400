package store

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/abci/handshake"
	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

// The node hands the store to the handshake as its block store.
var _ handshake.Store = (*Store)(nil)

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func testValidators(n int) *cmttypes.ValidatorSet {
	vals := make([]*cmttypes.Validator, n)
	for i := range vals {
		seed := sha256.Sum256([]byte(fmt.Sprintf("validator %d", i)))
		vals[i] = cmttypes.NewValidator(ed25519.GenPrivKeyFromSecret(seed[:]).PubKey(), int64(10+i))
	}
	return cmttypes.NewValidatorSet(vals)
}

// executedHeight builds height h with txs of txSize random bytes, each with an indexed
// transfer event and a non-indexed memo.
func executedHeight(h int64, txs, txSize int, rng *rand.Rand) ExecutedHeight {
	vals := testValidators(4)
	b := &order.ABCIBlock{Height: h, TimeMs: 1_700_000_000_000 + h*1000, ProposerIndex: int(h % 4),
		ProposerPubKey: vals.Validators[0].PubKey.Bytes(), LastBlockHash: sha256.New().Sum([]byte{byte(h)}),
		AppHash: []byte{byte(h), 1}, Epoch: 1, FirstCommit: uint64(2 * h), LastCommit: uint64(2*h + 1)}
	b.Hash = sha256.New().Sum([]byte(fmt.Sprintf("block %d", h)))[:32]
	for i := range vals.Validators {
		b.DecidedLastCommit = append(b.DecidedLastCommit, order.CommitVote{ValidatorIndex: i,
			PubKey: vals.Validators[i].PubKey.Bytes(), Power: vals.Validators[i].VotingPower, Signed: i != 2})
	}
	resp := &abci.ResponseFinalizeBlock{AppHash: []byte(fmt.Sprintf("app hash %d", h)),
		Events: []abci.Event{{Type: "begin", Attributes: []abci.EventAttribute{{Key: "h", Value: fmt.Sprint(h), Index: true}}}}}
	for i := 0; i < txs; i++ {
		tx := make([]byte, txSize)
		rng.Read(tx)
		b.Txs = append(b.Txs, tx)
		resp.TxResults = append(resp.TxResults, &abci.ExecTxResult{Code: uint32(i % 2), Data: tx[:4], GasUsed: int64(i),
			Events: []abci.Event{{Type: "transfer", Attributes: []abci.EventAttribute{
				{Key: "sender", Value: fmt.Sprintf("acct%d", i%7), Index: true},
				{Key: "memo", Value: "not indexed", Index: false},
			}}}})
	}
	return ExecutedHeight{Block: b, Response: resp, RetainHeight: 0,
		Result: core.ExecutionResult{Height: h, AppHash: resp.AppHash, ResultsHash: []byte{byte(h), 2},
			NextValidatorsHash: vals.Hash(), ValidatorUpdates: []core.ValidatorUpdate{{PubKey: []byte{byte(h)}, Power: h}}},
		NextValidators: vals, AfterNextValidators: testValidators(5)}
}

// saveHeights stores heights from..to with a few small txs each.
func saveHeights(t testing.TB, s *Store, from, to int64, rng *rand.Rand) []ExecutedHeight {
	t.Helper()
	var out []ExecutedHeight
	for h := from; h <= to; h++ {
		e := executedHeight(h, 3, 40, rng)
		if err := s.SaveExecuted(e); err != nil {
			t.Fatalf("save height %d: %v", h, err)
		}
		out = append(out, e)
	}
	// As the node's indexer does after each height.
	if _, err := s.IndexPending(int(to-from+1), nil); err != nil {
		t.Fatalf("index heights %d..%d: %v", from, to, err)
	}
	return out
}

func dagBlock(epoch, round uint64, author int, txs int) *types.Block {
	b := &types.Block{Epoch: epoch, Round: round, Author: author, TimeMs: int64(round) * 100,
		Signature: make([]byte, 64)}
	if round > 0 {
		b.Parents = []types.Ref{{Author: author, Round: round - 1, Digest: sha256.Sum256([]byte{byte(round)})}}
	}
	for i := 0; i < txs; i++ {
		b.Txs = append(b.Txs, []byte(fmt.Sprintf("tx %d/%d/%d", round, author, i)))
	}
	return b
}

// checkContiguous asserts that every height base..Height is complete and readable.
func checkContiguous(t *testing.T, s *Store) {
	t.Helper()
	if s.Height() == 0 {
		if s.Base() != 0 {
			t.Fatalf("empty store with base %d", s.Base())
		}
		return
	}
	for h := s.Base(); h <= s.Height(); h++ {
		b, res, err := s.Executed(h)
		if err != nil {
			t.Fatalf("height %d of %d..%d: %v", h, s.Base(), s.Height(), err)
		}
		if b.Height != h || res.Height != h {
			t.Fatalf("height %d holds block %d result %d", h, b.Height, res.Height)
		}
		if _, err := s.Response(h); err != nil {
			t.Fatalf("response %d: %v", h, err)
		}
		if _, _, err := s.ValidatorSets(h); err != nil {
			t.Fatalf("validator sets %d: %v", h, err)
		}
	}
}

type marshaler interface{ Marshal() ([]byte, error) }

// sameProto compares two messages by their encoding.
func sameProto(t testing.TB, a, b marshaler) bool {
	t.Helper()
	x, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}
