package rpc

import (
	"sync"

	cmtpubsub "github.com/cometbft/cometbft/libs/pubsub"
	cmtquery "github.com/cometbft/cometbft/libs/pubsub/query"
	"github.com/cometbft/cometbft/libs/pubsub/query/syntax"
	cmttypes "github.com/cometbft/cometbft/types"
)

// interest counts the live subscriptions by the event type their query asks for, so that
// PublishBlock builds only the events someone can receive. Building them is not free: a Tx
// event turns every attribute of the transaction's result into the bus's match map, and
// NewBlock converts the whole block; with a load generator subscribed to NewBlock alone,
// the per-transaction events were built and matched for nobody.
//
// A query restricts the type when it has the condition tm.event = 'T' (CometBFT's queries
// are conjunctions, so a match needs it); one without such a condition may match every
// type and is counted under "".
type interest struct {
	mu     sync.Mutex
	byType map[string]int
}

// add counts q's subscription; the returned release uncounts it, once.
func (in *interest) add(q cmtpubsub.Query) (release func()) {
	typ := eventTypeOf(q)
	in.mu.Lock()
	if in.byType == nil {
		in.byType = map[string]int{}
	}
	in.byType[typ]++
	in.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			in.mu.Lock()
			defer in.mu.Unlock()
			if in.byType[typ]--; in.byType[typ] <= 0 {
				delete(in.byType, typ)
			}
		})
	}
}

// wants reports whether a live subscription may match events of type typ.
func (in *interest) wants(typ string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.byType[typ] > 0 || in.byType[""] > 0
}

// eventTypeOf is the event type q restricts tm.event to, or "" when it does not.
func eventTypeOf(q cmtpubsub.Query) string {
	cq, ok := q.(*cmtquery.Query)
	if !ok {
		return ""
	}
	for _, c := range cq.Syntax() {
		if c.Tag == cmttypes.EventTypeKey && c.Op == syntax.TEq && c.Arg != nil && c.Arg.Type == syntax.TString {
			return c.Arg.Value()
		}
	}
	return ""
}
