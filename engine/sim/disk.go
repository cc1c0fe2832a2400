package sim

import (
	"fmt"
	"math/rand/v2"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

// record is one write a node makes: a DAG block, or an executed ABCI block with the app
// hash it produced (the block store the handshake replays from).
type record struct {
	block    *types.Block
	executed *executedRecord
}

type executedRecord struct {
	block  order.ABCIBlock
	result core.ExecutionResult
	// the validator sets of the two following heights, as the executor held them after
	// executing this one
	next, afterNext *cmttypes.ValidatorSet
}

// disk models a node's storage: writes are buffered until a sync; a crash loses what was
// not synced, except that a random prefix of it may already have reached the platter, and
// the record being written when the power went is torn (its checksum fails, so it is
// dropped on recovery, as the real store drops a torn tail).
type disk struct {
	durable []record
	pending []record
	// initAppHash is InitChain's app hash, stored at the first start (genesis state): the
	// ABCI projection of block 1 depends on it, so a restart must not lose it.
	initAppHash []byte
	initDone    bool
}

func (d *disk) write(recs []record) { d.pending = append(d.pending, recs...) }

func (d *disk) sync() {
	d.durable = append(d.durable, d.pending...)
	d.pending = nil
}

// crash loses unsynced writes and reports how many were lost and whether one was torn.
func (d *disk) crash(rng *rand.Rand) (lost int, torn bool) {
	if len(d.pending) > 0 {
		survive := rng.IntN(len(d.pending) + 1)
		d.durable = append(d.durable, d.pending[:survive]...)
		lost = len(d.pending) - survive
		torn = lost > 0
	}
	d.pending = nil
	return lost, torn
}

// wipe erases everything (amnesia: the same key on an empty disk).
func (d *disk) wipe() { *d = disk{} }

// contents returns what a restarted node reads back.
func (d *disk) contents() (blocks []*types.Block, executed []executedRecord) {
	for _, r := range d.durable {
		if r.block != nil {
			blocks = append(blocks, r.block)
		}
		if r.executed != nil {
			executed = append(executed, *r.executed)
		}
	}
	return blocks, executed
}

// blockStore is the executed part of a disk as the ABCI handshake reads it.
type blockStore []executedRecord

func (s blockStore) Height() int64 { return int64(len(s)) }

func (s blockStore) Executed(h int64) (*order.ABCIBlock, core.ExecutionResult, error) {
	if h < 1 || h > int64(len(s)) {
		return nil, core.ExecutionResult{}, fmt.Errorf("height %d not stored", h)
	}
	return &s[h-1].block, s[h-1].result, nil
}

func (s blockStore) ValidatorSets(h int64) (*cmttypes.ValidatorSet, *cmttypes.ValidatorSet, error) {
	if h == 0 {
		return nil, nil, nil // before the first height: the genesis sets
	}
	if h > int64(len(s)) {
		return nil, nil, fmt.Errorf("height %d not stored", h)
	}
	return s[h-1].next, s[h-1].afterNext, nil
}

// serve answers the core's ServeStored from durable blocks, as the node's store does
// (store.BlocksToServe).
func (d *disk) serve(req core.ServeStored) []*types.Block {
	var blocks []*types.Block
	for _, r := range d.durable {
		if r.block != nil {
			blocks = append(blocks, r.block)
		}
	}
	return req.Select(blocks)
}
