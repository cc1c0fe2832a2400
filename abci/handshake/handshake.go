// Package handshake reconciles an app with the block store when a node starts, as
// CometBFT's Handshaker does: Info gives the app's last height; a fresh app gets InitChain;
// every stored height the app lacks is replayed through the executor, and each replayed
// app hash must equal the stored one. An app ahead of the store, or one whose hash
// disagrees with what was committed, stops the node with a message naming the height and
// both hashes: going on would fork.
package handshake

import (
	"bytes"
	"context"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/proxy"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/abci/exec"
	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

// App is what the handshake needs of the app's connections.
type App interface {
	exec.Consensus
	Info(ctx context.Context, req *abci.RequestInfo) (*abci.ResponseInfo, error)
	InitChain(ctx context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error)
}

// AppConns joins an app's consensus and query connections into what the handshake needs
// (Info goes over the query connection, as in CometBFT).
func AppConns(consensus proxy.AppConnConsensus, query proxy.AppConnQuery) App {
	return appConns{consensus, query}
}

type appConns struct {
	proxy.AppConnConsensus
	query proxy.AppConnQuery
}

func (a appConns) Info(ctx context.Context, req *abci.RequestInfo) (*abci.ResponseInfo, error) {
	return a.query.Info(ctx, req)
}

// Store is the block store as the handshake reads it.
type Store interface {
	// Height is the last height stored as executed (0 for none).
	Height() int64
	// Executed returns a stored height and the result its execution produced.
	Executed(height int64) (*order.ABCIBlock, core.ExecutionResult, error)
	// ValidatorSets returns the sets of heights h+1 and h+2 as they stood after executing
	// h (h = 0: before the first height).
	ValidatorSets(h int64) (next, afterNext *cmttypes.ValidatorSet, err error)
}

// Genesis is what InitChain needs. Validators may be nil when the genesis has no list (the
// Cosmos SDK form): the app's InitChain response then chooses the set.
type Genesis struct {
	Request *abci.RequestInitChain
}

// Result is the reconciled state the node continues from.
type Result struct {
	Executor *exec.Executor
	// AppHash is the app's hash at the store's height (after InitChain for a new chain).
	AppHash []byte
	// InitialValidators is the set of the first height (from genesis or InitChain).
	InitialValidators *cmttypes.ValidatorSet
	// InitChainAppHash is InitChain's app hash when it ran now, else nil.
	InitChainAppHash []byte
	// LastResult is the execution result of the store's last height, to give the core so
	// it attests to it (nil for height 0).
	LastResult *core.ExecutionResult
	// Replayed lists the heights executed during the handshake.
	Replayed []int64
}

// Run performs the handshake.
func Run(ctx context.Context, app App, store Store, gen Genesis) (*Result, error) {
	info, err := app.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		return nil, fmt.Errorf("handshake: Info: %w", err)
	}
	appHeight, storeHeight := info.LastBlockHeight, store.Height()
	if appHeight < 0 {
		return nil, fmt.Errorf("handshake: the app reports negative height %d", appHeight)
	}
	if appHeight > storeHeight {
		return nil, fmt.Errorf("handshake: the app is at height %d (app hash %X) but the block store only reaches height %d: "+
			"the app is ahead of the node's data; restore the node's data directory or reset the app", appHeight, info.LastBlockAppHash, storeHeight)
	}
	res := &Result{}
	if appHeight == 0 {
		init, err := app.InitChain(ctx, gen.Request)
		if err != nil {
			return nil, fmt.Errorf("handshake: InitChain: %w", err)
		}
		res.InitChainAppHash, res.AppHash = init.AppHash, init.AppHash
		vals, err := genesisValidators(gen.Request, init)
		if err != nil {
			return nil, err
		}
		res.InitialValidators = vals
	} else {
		_, stored, err := store.Executed(appHeight)
		if err != nil {
			return nil, fmt.Errorf("handshake: read stored height %d: %w", appHeight, err)
		}
		if !bytes.Equal(stored.AppHash, info.LastBlockAppHash) {
			return nil, fmt.Errorf("handshake: at height %d the app's hash is %X but the node committed %X: the app's state diverged; restore it from a snapshot or resync it",
				appHeight, info.LastBlockAppHash, stored.AppHash)
		}
		res.AppHash = stored.AppHash
	}

	var next, afterNext *cmttypes.ValidatorSet
	if appHeight == 0 && storeHeight == 0 {
		next, afterNext = res.InitialValidators, res.InitialValidators
	} else {
		if next, afterNext, err = store.ValidatorSets(appHeight); err != nil {
			return nil, fmt.Errorf("handshake: validator sets after height %d: %w", appHeight, err)
		}
		if appHeight == 0 && next == nil {
			next, afterNext = res.InitialValidators, res.InitialValidators
		}
	}
	var last *cmttypes.ValidatorSet // the set of appHeight, which the next height's last commit lists
	if appHeight > 0 {
		if last, _, err = store.ValidatorSets(appHeight - 1); err != nil || last == nil {
			// Nothing stored below the initial height (1 or genesis' initial_height): the
			// genesis set signed it, as the store keeps it or the genesis lists it.
			if last, _, err = store.ValidatorSets(0); err != nil || last == nil {
				vals, err := cmttypes.PB2TM.ValidatorUpdates(gen.Request.Validators)
				if err != nil || len(vals) == 0 {
					return nil, fmt.Errorf("handshake: no validator set stored for height %d (%v)", appHeight, err)
				}
				last = cmttypes.NewValidatorSet(vals)
			}
		}
	}
	res.Executor = exec.New(app, appHeight, last, next, afterNext)
	for h := appHeight + 1; h <= storeHeight; h++ {
		b, stored, err := store.Executed(h)
		if err != nil {
			return nil, fmt.Errorf("handshake: read stored height %d: %w", h, err)
		}
		// The app hash is checked before the app commits, so a diverging app is stopped
		// with its state still at the last good height.
		_, result, err := res.Executor.Replay(ctx, b, func(_ *exec.Executed, r core.ExecutionResult) error {
			if !bytes.Equal(r.AppHash, stored.AppHash) {
				return fmt.Errorf("replaying it gave app hash %X but the node committed %X: the app is not deterministic or its state is corrupt",
					r.AppHash, stored.AppHash)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("handshake: replay height %d: %w", h, err)
		}
		res.AppHash = result.AppHash
		res.Replayed = append(res.Replayed, h)
	}
	if storeHeight > 0 {
		_, last, err := store.Executed(storeHeight)
		if err != nil {
			return nil, fmt.Errorf("handshake: read stored height %d: %w", storeHeight, err)
		}
		res.LastResult = &last
	}
	return res, nil
}

// genesisValidators is the genesis list, or the app's InitChain answer when it returns
// one (CometBFT's rule: a non-empty response replaces the genesis set).
func genesisValidators(req *abci.RequestInitChain, init *abci.ResponseInitChain) (*cmttypes.ValidatorSet, error) {
	updates := req.Validators
	if len(init.Validators) > 0 {
		updates = init.Validators
	}
	vals, err := cmttypes.PB2TM.ValidatorUpdates(updates)
	if err != nil {
		return nil, fmt.Errorf("handshake: validators: %w", err)
	}
	for i, v := range vals {
		if err := types.CheckValidatorKey(v.PubKey.Type(), v.PubKey.Bytes()); err != nil {
			return nil, fmt.Errorf("handshake: validator %d of the initial set has %w", i, err)
		}
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("handshake: neither the genesis nor the app's InitChain response names any validator")
	}
	return cmttypes.NewValidatorSet(vals), nil
}
