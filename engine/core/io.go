package core

import (
	"time"

	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// Input is one event the runtime feeds the core.
type Input interface{ isInput() }

// BlockReceived: a peer broadcast a block.
type BlockReceived struct {
	From  int
	Block *types.Block
}

// BlocksFetched: a peer answered our fetch request.
type BlocksFetched struct {
	From   int
	Blocks []*types.Block
}

// FetchRequested: a peer asks for blocks it lacks.
type FetchRequested struct {
	From int
	Refs []types.Ref
}

// PayloadAvailable: the mempool offers transactions this validator is to propose, in
// arrival order. AfterRelayed is how many relayed transactions (TxsRelayed's Seq) the
// mempool had admitted before the last of them: none of these may be ordered before those.
type PayloadAvailable struct {
	Txs          [][]byte
	AfterRelayed uint64
}

// TxsRelayed: the mempool admitted transactions peers relayed, which another validator is
// meant to propose (this one keeps them as a fallback, relay.go), and dropped earlier ones
// its app now refuses or an executed block held.
type TxsRelayed struct {
	Txs     []RelayedTx
	Dropped []uint64 // Seq of relayed transactions no longer in the mempool
}

// RelayedTx is one relayed transaction. Seq numbers the relayed transactions a mempool
// admits, from 1 up without gaps; Owner is the public key of the validator meant to
// propose it (nil: unknown).
type RelayedTx struct {
	Seq   uint64
	Tx    []byte
	Owner []byte
}

// TimerFired: a timer set by SetTimer expired.
type TimerFired struct {
	Kind  TimerKind
	Round uint64
}

// ValidatorUpdate is a power change the app returned (power 0 removes the validator).
type ValidatorUpdate struct {
	PubKey []byte
	Power  int64
}

// ExecutionResult: the app executed ABCI block Height.
type ExecutionResult struct {
	Height             int64
	AppHash            []byte
	ResultsHash        []byte
	NextValidatorsHash []byte // hash of NextValidators, in CometBFT's form
	ValidatorUpdates   []ValidatorUpdate
	// NextValidators is the full validator set of Height+2 (the updates FinalizeBlock
	// returned applied to the set of Height+1, as CometBFT does). When a quorum attests a
	// hash for it that differs from the epoch's committee, it becomes the next epoch's
	// committee; empty means the set did not change.
	NextValidators []types.Validator
}

// Restart: the runtime just restored the core and is about to run it.
type Restart struct{}

func (BlockReceived) isInput()    {}
func (BlocksFetched) isInput()    {}
func (FetchRequested) isInput()   {}
func (PayloadAvailable) isInput() {}
func (TxsRelayed) isInput()       {}
func (TimerFired) isInput()       {}
func (ExecutionResult) isInput()  {}
func (Restart) isInput()          {}

// TimerKind names the core's timers.
type TimerKind int

// Timer kinds.
const (
	// LeaderTimeout: stop waiting for a round's missing leader blocks.
	LeaderTimeout TimerKind = iota + 1
	// MinDelay: the minimum delay between two own proposals has passed.
	MinDelay
	// Resync: a periodic check that re-sends our latest block and re-asks for missing ones
	// when we have not proposed since the last check (messages lost to a partition or a
	// crash are never sent again otherwise, and every node could wait forever).
	Resync
	// HoldRelease: a block held for being stamped ahead of our clock is due (hold.go).
	HoldRelease
)

// Action is one effect the runtime must carry out, in the order returned.
type Action interface{ isAction() }

// CommitState is the part of the ordering progress storage keeps.
type CommitState struct {
	LastCommitIndex uint64
	LastHeight      int64 // last ABCI height handed to DeliverABCIBlock
}

// Persist: write these blocks (and commit state, if set); fsync when Sync. A Broadcast of
// an own block always comes after the Persist with Sync that holds it.
type Persist struct {
	Blocks []*types.Block
	Commit *CommitState
	Sync   bool
}

// Broadcast: send the own block to every peer. It comes after the synced Persist of that
// block, in the same action list or an earlier one (a resync re-sends a persisted block).
type Broadcast struct{ Block *types.Block }

// SendTo: send one message to one peer.
type SendTo struct {
	Peer int
	Msg  wire.Message
}

// RequestBlocks: ask one peer for blocks we lack.
type RequestBlocks struct {
	Peer int
	Refs []types.Ref
}

// SetTimer: fire TimerFired{Kind, Round} at At (replacing a pending timer of that kind).
type SetTimer struct {
	Kind  TimerKind
	Round uint64
	At    time.Time
}

// DeliverABCIBlock: hand the block to the application for execution.
type DeliverABCIBlock struct{ Block order.ABCIBlock }

// ReportEvidence: a local equivocation detection (it reaches the app only once ordered).
type ReportEvidence struct{ Evidence types.Equivocation }

// PayloadDeclined: transactions the core could not hold; the mempool keeps them.
type PayloadDeclined struct{ Txs [][]byte }

// Halt: the core found a condition it must not run past (a fork or a safety violation).
// It returns nothing more afterwards.
type Halt struct{ Reason string }

func (Persist) isAction()          {}
func (Broadcast) isAction()        {}
func (SendTo) isAction()           {}
func (RequestBlocks) isAction()    {}
func (SetTimer) isAction()         {}
func (DeliverABCIBlock) isAction() {}
func (ReportEvidence) isAction()   {}
func (PayloadDeclined) isAction()  {}
func (Halt) isAction()             {}
