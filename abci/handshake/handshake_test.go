package handshake

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/secp256k1"
	"github.com/cometbft/cometbft/proxy"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/abci/grammar"
	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/order"
)

// memStore is a block store held in memory: what the node's goleveldb store provides,
// without the disk.
type memStore struct {
	blocks  []order.ABCIBlock
	results []core.ExecutionResult
	sets    [][2]*cmttypes.ValidatorSet
}

func (s *memStore) Height() int64 { return int64(len(s.blocks)) }

func (s *memStore) Executed(h int64) (*order.ABCIBlock, core.ExecutionResult, error) {
	if h < 1 || h > s.Height() {
		return nil, core.ExecutionResult{}, fmt.Errorf("height %d not stored", h)
	}
	return &s.blocks[h-1], s.results[h-1], nil
}

func (s *memStore) ValidatorSets(h int64) (*cmttypes.ValidatorSet, *cmttypes.ValidatorSet, error) {
	if h == 0 {
		return nil, nil, nil
	}
	return s.sets[h-1][0], s.sets[h-1][1], nil
}

type conns struct {
	proxy.AppConnConsensus
	query proxy.AppConnQuery
}

func (c conns) Info(ctx context.Context, req *abci.RequestInfo) (*abci.ResponseInfo, error) {
	return c.query.Info(ctx, req)
}

// open starts a persistent kvstore in dir behind cometbft's local client, recording calls.
func open(t *testing.T, dir string) (conns, *grammar.Recorder, func()) {
	t.Helper()
	app := kvstore.NewPersistentApplication(dir)
	rec := grammar.NewRecorder(app)
	client, err := proxy.NewLocalClientCreator(rec).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	return conns{proxy.NewAppConnConsensus(client, proxy.NopMetrics()), proxy.NewAppConnQuery(client, proxy.NopMetrics())},
		rec, func() { _ = client.Stop(); _ = app.Close() }
}

func genesis() Genesis {
	pub := ed25519.GenPrivKeyFromSecret([]byte("v0")).PubKey()
	params := cmttypes.DefaultConsensusParams().ToProto()
	return Genesis{Request: &abci.RequestInitChain{ChainId: "hs", InitialHeight: 1, Time: time.Unix(1, 0).UTC(),
		ConsensusParams: &params, Validators: []abci.ValidatorUpdate{abci.UpdateValidator(pub.Bytes(), 10, "ed25519")}}}
}

func block(h int64) order.ABCIBlock {
	return order.ABCIBlock{Height: h, TimeMs: 1000 * h, Txs: [][]byte{[]byte(fmt.Sprintf("k%d=v%d", h, h))},
		Hash: []byte(fmt.Sprintf("block-%d", h))}
}

// build executes heights 1..upTo on a fresh persistent kvstore in dir, storing each
// executed height in store only up to storeTo: the app then holds upTo heights.
func build(t *testing.T, dir string, upTo int64, store *memStore) {
	t.Helper()
	app, _, stop := open(t, dir)
	defer stop()
	res, err := Run(context.Background(), app, &memStore{}, genesis())
	if err != nil {
		t.Fatal(err)
	}
	for h := int64(1); h <= upTo; h++ {
		b := block(h)
		_, result, err := res.Executor.Execute(context.Background(), &b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if store != nil {
			next, after := res.Executor.ValidatorSets()
			store.blocks = append(store.blocks, b)
			store.results = append(store.results, result)
			store.sets = append(store.sets, [2]*cmttypes.ValidatorSet{next, after})
		}
	}
}

// TestReplaysExactlyTheMissingHeights: the app lags the store by 0, 1 and 4 heights; the
// handshake replays exactly those heights, through calls ABCI's grammar allows.
func TestReplaysExactlyTheMissingHeights(t *testing.T) {
	const stored = 6
	full := &memStore{}
	build(t, t.TempDir(), stored, full)
	for _, lag := range []int64{0, 1, 4, stored} {
		t.Run(fmt.Sprintf("lag %d", lag), func(t *testing.T) {
			dir := t.TempDir()
			if lag < stored {
				build(t, dir, stored-lag, nil)
			}
			app, rec, stop := open(t, dir)
			defer stop()
			res, err := Run(context.Background(), app, full, genesis())
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(res.Replayed)) != lag || (lag > 0 && res.Replayed[0] != stored-lag+1) {
				t.Fatalf("replayed %v, want the last %d heights", res.Replayed, lag)
			}
			if string(res.AppHash) != string(full.results[stored-1].AppHash) {
				t.Fatalf("app hash %X after the handshake, the store has %X", res.AppHash, full.results[stored-1].AppHash)
			}
			if res.LastResult == nil || res.LastResult.Height != stored {
				t.Fatalf("last result %+v", res.LastResult)
			}
			calls := rec.Calls()
			if err := grammar.Check(calls); err != nil {
				t.Fatal(err)
			}
			finalizes := 0
			for _, c := range calls {
				if c.Method == "FinalizeBlock" {
					finalizes++
				}
			}
			if int64(finalizes) != lag {
				t.Fatalf("%d FinalizeBlock calls, want %d", finalizes, lag)
			}
		})
	}
}

func TestAppAheadOfTheStoreStops(t *testing.T) {
	dir := t.TempDir()
	build(t, dir, 3, nil)
	store := &memStore{}
	build(t, t.TempDir(), 2, store)
	app, _, stop := open(t, dir)
	defer stop()
	_, err := Run(context.Background(), app, store, genesis())
	if err == nil || !strings.Contains(err.Error(), "app is at height 3") || !strings.Contains(err.Error(), "height 2") {
		t.Fatalf("got %v", err)
	}
}

func TestDivergedAppHashStops(t *testing.T) {
	dir := t.TempDir()
	build(t, dir, 2, nil)
	store := &memStore{}
	build(t, t.TempDir(), 4, store)
	store.results[3].AppHash = []byte("forged")
	app, _, stop := open(t, dir)
	defer stop()
	_, err := Run(context.Background(), app, store, genesis())
	if err == nil || !strings.Contains(err.Error(), "height 4") || !strings.Contains(err.Error(), fmt.Sprintf("%X", []byte("forged"))) {
		t.Fatalf("got %v", err)
	}
}

// The initial set, whether the genesis or the app's InitChain names it, may hold only keys
// validators sign with: a secp256k1 one is refused with the reason.
func TestAnInitialValidatorWithANonEd25519KeyIsRefused(t *testing.T) {
	app, _, stop := open(t, t.TempDir())
	defer stop()
	gen := genesis()
	pub := secp256k1.GenPrivKeySecp256k1([]byte("v0")).PubKey()
	gen.Request.Validators = []abci.ValidatorUpdate{abci.UpdateValidator(pub.Bytes(), 10, "secp256k1")}
	_, err := Run(context.Background(), app, &memStore{}, gen)
	if err == nil || !strings.Contains(err.Error(), "secp256k1 key") {
		t.Fatalf("got %v, want the handshake to refuse the secp256k1 validator", err)
	}
}
