package rpc

import (
	"context"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtquery "github.com/cometbft/cometbft/libs/pubsub/query"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/engine/order"
)

func TestInterestFollowsTheQueriesEventType(t *testing.T) {
	var in interest
	for _, typ := range []string{"NewBlock", "Tx", "NewBlockEvents"} {
		if in.wants(typ) {
			t.Fatalf("no subscription, yet %s is wanted", typ)
		}
	}
	releaseBlock := in.add(cmtquery.MustCompile("tm.event='NewBlock'"))
	if !in.wants("NewBlock") || in.wants("Tx") {
		t.Fatalf("a NewBlock subscription: NewBlock wanted %v, Tx wanted %v", in.wants("NewBlock"), in.wants("Tx"))
	}
	releaseTx := in.add(cmtquery.MustCompile("tm.event = 'Tx' AND tx.height > 5"))
	if !in.wants("Tx") {
		t.Fatal("a Tx subscription, yet Tx is not wanted")
	}
	releaseTx()
	releaseTx() // a second release changes nothing
	if in.wants("Tx") || !in.wants("NewBlock") {
		t.Fatalf("after the Tx release: Tx wanted %v, NewBlock wanted %v", in.wants("Tx"), in.wants("NewBlock"))
	}
	releaseAny := in.add(cmtquery.MustCompile("app.key = 'k'")) // no tm.event: any type may match
	if !in.wants("Tx") || !in.wants("ValidatorSetUpdates") {
		t.Fatal("a query without tm.event must count for every type")
	}
	releaseAny()
	releaseBlock()
	if in.wants("NewBlock") || in.wants("Tx") {
		t.Fatal("everything released, yet a type is wanted")
	}
}

// BenchmarkPublishHeightOf1000Txs is PublishBlock for a height of 1,000 transactions
// (three indexed attributes each) with one subscriber: to NewBlockEvents alone, the Tx
// events are not built; to Tx events (of a hash that never comes), all 1,000 are built
// and matched, as they were for every subscriber before.
func BenchmarkPublishHeightOf1000Txs(b *testing.B) {
	block := &order.ABCIBlock{Height: 7, Hash: make([]byte, 32)}
	resp := &abci.ResponseFinalizeBlock{}
	for i := 0; i < 1000; i++ {
		block.Txs = append(block.Txs, []byte(fmt.Sprintf("key%d=value%d", i, i)))
		resp.TxResults = append(resp.TxResults, &abci.ExecTxResult{Events: []abci.Event{{Type: "app", Attributes: []abci.EventAttribute{
			{Key: "creator", Value: "Cosmoshi Netowoko", Index: true}, {Key: "key", Value: fmt.Sprint("key", i), Index: true},
			{Key: "index_key", Value: "index is working", Index: true}}}}})
	}
	for _, query := range []string{"tm.event='NewBlockEvents'", "tm.event='Tx' AND tx.hash='00'"} {
		b.Run(query, func(b *testing.B) {
			events, err := NewEvents(zerolog.Nop())
			if err != nil {
				b.Fatal(err)
			}
			defer events.Stop()
			s := &Server{Env: Env{Events: events, Config: config.Default().RPC}}
			sub, release, err := s.subscribeWithinLimits(context.Background(), "bench", cmtquery.MustCompile(query), 1<<16)
			if err != nil {
				b.Fatal(err)
			}
			defer release()
			go func() {
				for range sub.Out() {
				}
			}()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.PublishBlock(block, resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
