package rpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtpubsub "github.com/cometbft/cometbft/libs/pubsub"
	cmtquery "github.com/cometbft/cometbft/libs/pubsub/query"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/engine/logging"
	"github.com/tutti-bft/tutti/engine/order"
)

// maxQueryLength bounds a subscription or search query, as CometBFT does.
const maxQueryLength = 512

// subscribeTimeout bounds the wait for the event bus to register a subscription.
const subscribeTimeout = 5 * time.Second

// Events is the node's event bus: cometbft's own types.EventBus, so subscriptions use
// CometBFT's query language and deliver CometBFT's event data.
type Events struct {
	bus      *cmttypes.EventBus
	interest interest
}

// NewEvents starts an event bus; Stop it when the node stops. cometbft's services log
// every start and stop at INFO; only their warnings and errors tell an operator something.
func NewEvents(logger zerolog.Logger) (*Events, error) {
	logger = logger.With().Str("module", "events").Logger()
	if logger.GetLevel() < zerolog.WarnLevel {
		logger = logger.Level(zerolog.WarnLevel)
	}
	bus := cmttypes.NewEventBus()
	bus.SetLogger(logging.Comet(logger))
	if err := bus.Start(); err != nil {
		return nil, fmt.Errorf("rpc: start the event bus: %w", err)
	}
	return &Events{bus: bus}, nil
}

// Stop ends the bus; every subscription is cancelled.
func (e *Events) Stop() {
	if e.bus.IsRunning() {
		_ = e.bus.Stop()
	}
}

// PublishBlock publishes what CometBFT publishes once a height is executed and stored,
// in its order: NewBlock, NewBlockHeader, NewBlockEvents, one Tx per transaction, then
// ValidatorSetUpdates when the app changed the set. An event reaches only the
// subscriptions that exist when it is published, so it builds only the events of a type
// some subscription may match (interest.go), and nothing with no subscriber at all.
func (s *Server) PublishBlock(b *order.ABCIBlock, resp *abci.ResponseFinalizeBlock) error {
	bus, wants := s.Events.bus, s.Events.interest.wants
	if bus.NumClients() == 0 {
		return nil
	}
	var errs []error
	if wants(cmttypes.EventNewBlock) || wants(cmttypes.EventNewBlockHeader) {
		blk, err := s.cometBlock(b)
		if err != nil {
			return err
		}
		if wants(cmttypes.EventNewBlock) {
			errs = append(errs, bus.PublishEventNewBlock(cmttypes.EventDataNewBlock{Block: blk, BlockID: blockID(b.Hash), ResultFinalizeBlock: *resp}))
		}
		if wants(cmttypes.EventNewBlockHeader) {
			errs = append(errs, bus.PublishEventNewBlockHeader(cmttypes.EventDataNewBlockHeader{Header: blk.Header}))
		}
	}
	if wants(cmttypes.EventNewBlockEvents) {
		errs = append(errs, bus.PublishEventNewBlockEvents(cmttypes.EventDataNewBlockEvents{Height: b.Height, Events: resp.Events, NumTxs: int64(len(b.Txs))}))
	}
	if wants(cmttypes.EventTx) {
		for i, tx := range b.Txs {
			errs = append(errs, bus.PublishEventTx(cmttypes.EventDataTx{TxResult: abci.TxResult{
				Height: b.Height, Index: uint32(i), Tx: tx, Result: *resp.TxResults[i]}}))
		}
	}
	if len(resp.ValidatorUpdates) > 0 && wants(cmttypes.EventValidatorSetUpdates) {
		vals, err := cmttypes.PB2TM.ValidatorUpdates(resp.ValidatorUpdates)
		if err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, bus.PublishEventValidatorSetUpdates(cmttypes.EventDataValidatorSetUpdates{ValidatorUpdates: vals}))
		}
	}
	return errors.Join(errs...)
}

// subscribe registers a websocket client's query and forwards each matching event to it
// as a JSON-RPC response carrying the subscribe request's id, as CometBFT does.
func (s *Server) subscribe(ctx *rpctypes.Context, query string) (*ctypes.ResultSubscribe, error) {
	addr := ctx.RemoteAddr()
	if len(query) > maxQueryLength {
		return nil, errors.New("maximum query length exceeded")
	}
	q, err := cmtquery.New(query)
	if err != nil {
		return nil, fmt.Errorf("failed to parse query: %w", err)
	}
	subCtx, cancel := context.WithTimeout(ctx.Context(), subscribeTimeout)
	defer cancel()
	sub, release, err := s.subscribeWithinLimits(subCtx, addr, q, subscriptionBufferSize)
	if err != nil {
		return nil, err
	}
	s.Logger.Debug().Str("remote", addr).Str("query", query).Msg("subscribed")
	go func() {
		defer release()
		s.forward(ctx, sub, query)
	}()
	return &ctypes.ResultSubscribe{}, nil
}

// subscribeWithinLimits subscribes addr to q unless that takes a client over
// max_subscription_clients or addr over maxSubscriptionsPerClient. Counting and subscribing
// are one step under subscribeMu: checked apart, 500 clients subscribing at once got 133
// subscriptions past a cap of 100. The subscription counts as an interest in its event
// type (interest.go) from before it exists until release, which the caller runs once it
// no longer reads it.
func (s *Server) subscribeWithinLimits(ctx context.Context, addr string, q cmtpubsub.Query, capacity ...int) (sub cmttypes.Subscription, release func(), err error) {
	s.subscribeMu.Lock()
	defer s.subscribeMu.Unlock()
	bus := s.Events.bus
	switch {
	case bus.NumClients() >= s.Config.MaxSubscriptionClients:
		return nil, nil, limitError{fmt.Errorf("max_subscription_clients %d reached", s.Config.MaxSubscriptionClients)}
	case bus.NumClientSubscriptions(addr) >= maxSubscriptionsPerClient:
		return nil, nil, limitError{fmt.Errorf("max_subscriptions_per_client %d reached", maxSubscriptionsPerClient)}
	}
	release = s.Events.interest.add(q)
	if sub, err = bus.Subscribe(ctx, addr, q, capacity...); err != nil {
		release()
		return nil, nil, err
	}
	return sub, release, nil
}

// limitError is a subscription refused for a limit, returned to the client as it is.
type limitError struct{ error }

// forward writes a subscription's events to its websocket until it is cancelled
// (unsubscribe, the client going away, the bus stopping) or the server closes.
func (s *Server) forward(ctx *rpctypes.Context, sub cmttypes.Subscription, query string) {
	id := ctx.JSONReq.ID
	for {
		select {
		case msg := <-sub.Out():
			resp := rpctypes.NewRPCSuccessResponse(id, &ctypes.ResultEvent{Query: query, Data: msg.Data(), Events: msg.Events()})
			writeCtx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
			err := ctx.WSConn.WriteRPCResponse(writeCtx, resp)
			cancel()
			if err != nil {
				s.Logger.Debug().Err(err).Str("remote", ctx.RemoteAddr()).Msg("cannot write an event (slow or gone client)")
			}
		case <-sub.Canceled():
			if err := sub.Err(); !errors.Is(err, cmtpubsub.ErrUnsubscribed) {
				reason := "Tutti exited"
				if err != nil {
					reason = err.Error()
				}
				ctx.WSConn.TryWriteRPCResponse(rpctypes.RPCServerError(id, fmt.Errorf("subscription was canceled (reason: %s)", reason)))
			}
			return
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *Server) unsubscribe(ctx *rpctypes.Context, query string) (*ctypes.ResultUnsubscribe, error) {
	q, err := cmtquery.New(query)
	if err != nil {
		return nil, fmt.Errorf("failed to parse query: %w", err)
	}
	if err := s.Events.bus.Unsubscribe(context.Background(), ctx.RemoteAddr(), q); err != nil {
		return nil, err
	}
	return &ctypes.ResultUnsubscribe{}, nil
}

func (s *Server) unsubscribeAll(ctx *rpctypes.Context) (*ctypes.ResultUnsubscribe, error) {
	if err := s.Events.bus.UnsubscribeAll(context.Background(), ctx.RemoteAddr()); err != nil {
		return nil, err
	}
	return &ctypes.ResultUnsubscribe{}, nil
}
