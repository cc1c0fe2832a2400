package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/proxy"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/abci/handshake"
	"github.com/tutti-bft/tutti/engine/order"
)

type kvConns struct {
	proxy.AppConnConsensus
	query proxy.AppConnQuery
}

func (c kvConns) Info(ctx context.Context, req *abci.RequestInfo) (*abci.ResponseInfo, error) {
	return c.query.Info(ctx, req)
}

// kvApp is CometBFT's kvstore behind its local client, in memory.
func kvApp(t *testing.T) kvConns {
	t.Helper()
	client, err := proxy.NewLocalClientCreator(kvstore.NewInMemoryApplication()).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Stop() })
	return kvConns{proxy.NewAppConnConsensus(client, proxy.NopMetrics()), proxy.NewAppConnQuery(client, proxy.NopMetrics())}
}

func kvGenesis() handshake.Genesis {
	pub := ed25519.GenPrivKeyFromSecret([]byte("v0")).PubKey()
	params := cmttypes.DefaultConsensusParams().ToProto()
	return handshake.Genesis{Request: &abci.RequestInitChain{ChainId: "store", InitialHeight: 1,
		Time: time.Unix(1, 0).UTC(), ConsensusParams: &params,
		Validators: []abci.ValidatorUpdate{abci.UpdateValidator(pub.Bytes(), 10, "ed25519")}}}
}

// What a real app executed, stored and read back after a restart, replays to the same app
// hashes through the handshake, and its transactions are found by hash and by event.
func TestKVStoreHeightsReplayThroughHandshake(t *testing.T) {
	const heights = 5
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	res, err := handshake.Run(ctx, kvApp(t), s, kvGenesis())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveGenesis(Genesis{AppHash: res.InitChainAppHash, Validators: res.InitialValidators}); err != nil {
		t.Fatal(err)
	}
	for h := int64(1); h <= heights; h++ {
		b := &order.ABCIBlock{Height: h, TimeMs: 1000 * h, Hash: []byte(fmt.Sprintf("block-%d", h)),
			Txs: [][]byte{[]byte(fmt.Sprintf("k%d=v%d", h, h)), []byte(fmt.Sprintf("x%d=y", h))}}
		ex, result, err := res.Executor.Execute(ctx, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		next, after := res.Executor.ValidatorSets()
		if err := s.SaveExecuted(ExecutedHeight{Block: b, Result: result, Response: ex.Response,
			RetainHeight: ex.RetainHeight, NextValidators: next, AfterNextValidators: after}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	s = openTest(t, dir)
	defer s.Close()
	replay, err := handshake.Run(ctx, kvApp(t), s, kvGenesis())
	if err != nil {
		t.Fatal(err)
	}
	if len(replay.Replayed) != heights {
		t.Fatalf("replayed %v, want 1..%d", replay.Replayed, heights)
	}
	_, last, _ := s.Executed(heights)
	if !bytes.Equal(replay.AppHash, last.AppHash) {
		t.Fatalf("replay reached app hash %X, the store has %X", replay.AppHash, last.AppHash)
	}

	if _, err := s.IndexPending(heights, nil); err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("k3=v3"))
	tx, err := s.TxByHash(hash[:])
	if err != nil || tx.Height != 3 || tx.Index != 0 {
		t.Fatalf("tx k3=v3: %+v, %v", tx, err)
	}
	// kvstore emits app.key=<key> with index=true for every tx.
	hits, err := s.TxHashesByEvent("app.key", "k3", 10)
	if err != nil || len(hits) != 1 || !bytes.Equal(hits[0], hash[:]) {
		t.Fatalf("event app.key=k3: %d hits, %v", len(hits), err)
	}
}
