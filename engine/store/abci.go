package store

import (
	"errors"
	"fmt"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/order"
)

// ExecutedHeight is everything the block store keeps for one executed height.
type ExecutedHeight struct {
	Block    *order.ABCIBlock
	Result   core.ExecutionResult
	Response *abci.ResponseFinalizeBlock
	// RetainHeight is what the app's Commit returned; kept for the record, applied by Retain.
	RetainHeight int64
	// NextValidators and AfterNextValidators are the sets of heights h+1 and h+2 after
	// executing h (exec.Executor.ValidatorSets once h is executed).
	NextValidators, AfterNextValidators *cmttypes.ValidatorSet
}

func (e *ExecutedHeight) check() error {
	switch {
	case e.Block == nil || e.Response == nil || e.NextValidators == nil || e.AfterNextValidators == nil:
		return errors.New("store: executed height misses its block, response or validator sets")
	case e.Block.Height <= 0:
		return fmt.Errorf("store: height %d, want > 0", e.Block.Height)
	case e.Result.Height != e.Block.Height:
		return fmt.Errorf("store: result of height %d given for block %d", e.Result.Height, e.Block.Height)
	case len(e.Response.TxResults) != len(e.Block.Txs):
		return fmt.Errorf("store: height %d has %d txs but %d tx results", e.Block.Height, len(e.Block.Txs), len(e.Response.TxResults))
	}
	if slices.Contains(e.Response.TxResults, nil) {
		return fmt.Errorf("store: height %d has a nil tx result", e.Block.Height)
	}
	return nil
}

// SaveExecuted stores one executed height, which must follow the last one, with its
// transaction index, in one batch written with fsync: after it returns the height survives
// a crash, and a crash during it leaves the height wholly absent.
func (s *Store) SaveExecuted(e ExecutedHeight) error { return s.saveExecuted(e, syncWrite) }

func (s *Store) saveExecuted(e ExecutedHeight, wo *opt.WriteOptions) error {
	if err := e.check(); err != nil {
		return err
	}
	h := e.Block.Height
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if last := s.height.Load(); last != 0 && h != last+1 {
		return fmt.Errorf("store: cannot save height %d after %d: heights are stored in order with no gap", h, last)
	}
	batch := newSealedBatch(heightBatchSize(&e))
	if err := putHeight(batch, &e); err != nil {
		return err
	}
	if err := s.db.Write(&batch.Batch, wo); err != nil {
		return fmt.Errorf("store: write height %d: %w", h, err)
	}
	s.height.Store(h)
	s.base.CompareAndSwap(0, h)
	return nil
}

// heightBatchSize estimates a height's batch (each tx and its result with its events, in
// the block and response records) so that the batch is allocated once rather than grown
// by doubling.
func heightBatchSize(e *ExecutedHeight) int {
	n := 64 << 10
	for i, tx := range e.Block.Txs {
		n += len(tx) + 192
		for _, ev := range e.Response.TxResults[i].GetEvents() {
			n += len(ev.Type)
			for _, a := range ev.Attributes {
				n += len(a.Key) + len(a.Value) + 48
			}
		}
	}
	return n
}

func putHeight(batch *sealedBatch, e *ExecutedHeight) error {
	h := e.Block.Height
	var sets ValidatorSetsProto
	var err error
	if sets.Next, err = marshalValidatorSet(e.NextValidators); err != nil {
		return fmt.Errorf("store: validator set of height %d: %w", h+1, err)
	}
	if sets.AfterNext, err = marshalValidatorSet(e.AfterNextValidators); err != nil {
		return fmt.Errorf("store: validator set of height %d: %w", h+2, err)
	}
	for _, r := range []struct {
		prefix []byte
		msg    sizedMarshaler
	}{
		{prefixABCIBlock, abciBlockToProto(e.Block)},
		{prefixABCIResult, resultToProto(e.Result, e.RetainHeight)},
		{prefixABCIResp, e.Response},
		{prefixABCIValSets, &sets},
	} {
		key := heightKey(r.prefix, h)
		if err := batch.putMsg(key, r.msg); err != nil {
			return fmt.Errorf("store: marshal %s: %w", describeKey(key), err)
		}
	}
	if len(e.Block.Hash) > 0 {
		batch.put(hashKey(prefixABCIHash, e.Block.Hash), heightValue(h))
	}
	return nil
}

// Height is the last stored height (0 for none).
func (s *Store) Height() int64 { return s.height.Load() }

// Base is the lowest stored height (0 for none): heights below it were pruned by Retain.
func (s *Store) Base() int64 { return s.base.Load() }

// Executed returns a stored height's block and execution result.
func (s *Store) Executed(h int64) (*order.ABCIBlock, core.ExecutionResult, error) {
	b, err := s.Block(h)
	if err != nil {
		return nil, core.ExecutionResult{}, err
	}
	var rp ResultProto
	if err := s.get(heightKey(prefixABCIResult, h), &rp); err != nil {
		return nil, core.ExecutionResult{}, err
	}
	return b, resultFromProto(&rp), nil
}

// Block returns the ABCI block of height h.
func (s *Store) Block(h int64) (*order.ABCIBlock, error) {
	var bp ABCIBlockProto
	key := heightKey(prefixABCIBlock, h)
	if err := s.get(key, &bp); err != nil {
		return nil, err
	}
	if bp.Height != h {
		return nil, s.corrupt(key, fmt.Sprintf("holds height %d", bp.Height))
	}
	return abciBlockFromProto(&bp), nil
}

// HeightByHash returns the height of the ABCI block with this hash.
func (s *Store) HeightByHash(hash []byte) (int64, error) {
	key := hashKey(prefixABCIHash, hash)
	payload, err := s.getPayload(key)
	if err != nil {
		return 0, err
	}
	h, ok := parseHeightValue(payload)
	if !ok {
		return 0, s.corrupt(key, "not a height")
	}
	return h, nil
}

// Response returns FinalizeBlock's response for height h (tx results, events, updates).
func (s *Store) Response(h int64) (*abci.ResponseFinalizeBlock, error) {
	var r abci.ResponseFinalizeBlock
	if err := s.get(heightKey(prefixABCIResp, h), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ValidatorSets returns the sets of heights h+1 and h+2 as they stood after executing h.
// For h = 0 it is the genesis set twice, or nil, nil when no genesis is stored (the caller
// then uses InitChain's set).
func (s *Store) ValidatorSets(h int64) (next, afterNext *cmttypes.ValidatorSet, err error) {
	if h == 0 {
		g, err := s.Genesis()
		if errors.Is(err, ErrNotFound) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		return g.Validators, g.Validators.Copy(), nil
	}
	key := heightKey(prefixABCIValSets, h)
	var p ValidatorSetsProto
	if err := s.get(key, &p); err != nil {
		return nil, nil, err
	}
	err = s.guard(key, func() error {
		if next, err = unmarshalValidatorSet(p.Next); err != nil {
			return err
		}
		afterNext, err = unmarshalValidatorSet(p.AfterNext)
		return err
	})
	return next, afterNext, err
}
