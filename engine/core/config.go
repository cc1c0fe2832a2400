package core

import (
	"errors"
	"time"

	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

// Config is everything a core needs besides its identity, signer and verifier.
type Config struct {
	ChainID string
	Epoch   types.Epoch
	Limits  types.BlockLimits

	// LeaderSlots per round; 0 means every validator (the protocol's default).
	LeaderSlots int
	// ReputationWindow: every this many commits the leader schedule is recomputed from
	// the committed history; 0 turns reputation off.
	ReputationWindow uint64
	// GCDepth: blocks at or below (last committed leader round - GCDepth) are evicted.
	GCDepth uint64
	// DedupeRounds: how many leader rounds ordered transaction hashes are remembered; at
	// least GCDepth+MaxUncommittedRounds+10 (check raises it): a relayed transaction two
	// validators carried (relay.go) may be ordered up to about GCDepth rounds apart, and
	// across an epoch change, whose rounds jump by MaxUncommittedRounds+1, when the old
	// epoch's unordered copy is proposed again. Every node must use the same value.
	DedupeRounds uint64

	// LeaderTimeout: how long to wait for a round's missing leader blocks before proposing.
	LeaderTimeout time.Duration
	// MinRoundDelay: least time between two own proposals (the batching knob).
	MinRoundDelay time.Duration
	// MaxUncommittedRounds: a validator never proposes more than this many rounds above its
	// last committed leader round. It bounds memory, and it bounds every round an honest
	// validator can have signed in an epoch, so the next epoch can start above them all
	// (its genesis round is the closing leader's round + MaxUncommittedRounds + 1). Every
	// node must use the same value.
	MaxUncommittedRounds uint64
	// MaxForwardTimeDrift: a block stamped more than this ahead of our clock waits outside
	// the DAG until our clock catches up (hold.go); 0 means DefaultMaxForwardTimeDrift.
	MaxForwardTimeDrift time.Duration
	// ResyncInterval: how often a validator that has not proposed since the last check
	// re-sends its latest block and re-asks for missing ones; 0 means 2 × LeaderTimeout.
	ResyncInterval time.Duration

	MaxBlockTxs       int // transactions per own block
	MaxBlockTxBytes   int // transaction bytes per own block
	MaxPendingTxBytes int // offered transactions held before the core declines more
	FetchBatch        int // most blocks returned for one fetch request
	// SyncGapRounds: a peer's block this many rounds above our highest makes us catch up
	// with sync requests (sync.go) instead of fetching parents one level at a time.
	SyncGapRounds uint64

	// TakeoverDelay: how long a relayed transaction may stay out of the DAG, while the
	// validator meant to propose it keeps sending blocks, before we propose it in its
	// place (it may have restarted and lost it; one that stopped is replaced sooner,
	// relay.go); 0 means 32 × LeaderTimeout.
	TakeoverDelay time.Duration

	Cut order.CutConfig

	// Mutations plant known bugs for the simulator's checker tests. All off by default.
	Mutations Mutations
}

// Mutations are deliberate protocol bugs. They exist so the simulator can prove its
// checkers catch them; a production node must leave every switch off.
type Mutations struct {
	// WeakQuorum makes the decision rules count 2f (one unit of stake short) as a quorum.
	WeakQuorum bool
	// NoSlotGuard lets linearization order a second block of an already ordered slot (the
	// double-commit bug Sui#24498 fixed).
	NoSlotGuard bool
	// BroadcastBeforePersist sends an own block before the synced write that must precede it.
	BroadcastBeforePersist bool
	// NoClientOrder lets our own transactions into a block without the relayed ones admitted
	// before them (PROTOCOL.md §2.1's order rule off).
	NoClientOrder bool
	// NoTimeHold admits blocks stamped however far ahead of our clock (PROTOCOL.md §4.2's
	// hold off), so a validator whose clock runs ahead moves block time.
	NoTimeHold bool
}

// DefaultMinEpochRounds is the least number of DAG rounds an epoch lasts (PROTOCOL.md §5.1).
// An epoch change restarts the DAG, so an app that changes powers in every block (CometBFT's
// kvstore punishing each ordered equivocation does) would otherwise spend its time changing
// epochs. At the default round pace (tens of milliseconds) it delays a validator update's
// effect on who orders by a few seconds; the app's own set changes at H+2 regardless.
const DefaultMinEpochRounds = 50

// DefaultStragglerWait is how long (in commit time) a block waits, once it could close,
// for validators that attested recently (order.CutConfig.StragglerWaitMs): a few rounds at
// the default pace, which covers a validator whose execution or network trails the
// quorum's, and a validator that stopped costs it once. Like CometBFT's timeout_commit,
// which collects precommits beyond the first two thirds.
const DefaultStragglerWait = 250 * time.Millisecond

// DefaultMaxForwardTimeDrift is how far ahead of our clock a block may be stamped and still
// be referenced at once: well above the skew of NTP-synchronised clocks, well below what
// would matter to an app reading block time.
const DefaultMaxForwardTimeDrift = 500 * time.Millisecond

// DefaultConfig fills the tunables with the values the design starts from.
func DefaultConfig(chainID string, epoch types.Epoch) Config {
	return Config{ChainID: chainID, Epoch: epoch, Limits: types.DefaultBlockLimits(),
		ReputationWindow: 300, GCDepth: 50, DedupeRounds: 10, MaxUncommittedRounds: 200,
		LeaderTimeout: 250 * time.Millisecond, MinRoundDelay: 50 * time.Millisecond,
		MaxBlockTxs: 5000, MaxBlockTxBytes: 2 << 20, MaxPendingTxBytes: 16 << 20, FetchBatch: 64,
		Cut: order.CutConfig{ChainID: chainID, InitialHeight: 1, MaxBytes: 16 << 20,
			TargetIntervalMs: 0, MaxEmptyIntervalMs: 1000, MinEpochRounds: DefaultMinEpochRounds,
			StragglerWaitMs: DefaultStragglerWait.Milliseconds()}}
}

func (c *Config) check() error {
	if c.Epoch.Committee == nil {
		return errors.New("config: epoch has no committee")
	}
	if c.ChainID == "" {
		return errors.New("config: empty chain id")
	}
	if c.Epoch.StartRound == 0 {
		// The DAG's GC round is "at or below is evicted"; at start it sits one below the
		// genesis round, so round 0 cannot hold genesis blocks.
		return errors.New("config: the epoch's genesis round must be at least 1")
	}
	if c.Cut.ChainID == "" {
		c.Cut.ChainID = c.ChainID
	}
	if c.Cut.ChainID != c.ChainID {
		return errors.New("config: cut chain id differs from chain id")
	}
	if c.Limits.MaxParents == 0 {
		c.Limits = types.DefaultBlockLimits()
	}
	if c.GCDepth < 3 {
		return errors.New("config: gc depth below 3 would evict blocks the commit rule still reads")
	}
	if c.MaxBlockTxs <= 0 || c.MaxBlockTxs > c.Limits.MaxTxs {
		c.MaxBlockTxs = c.Limits.MaxTxs
	}
	if c.MaxBlockTxBytes <= 0 || c.MaxBlockTxBytes > c.Limits.MaxPayloadBytes {
		c.MaxBlockTxBytes = c.Limits.MaxPayloadBytes
	}
	if c.MaxPendingTxBytes <= 0 {
		c.MaxPendingTxBytes = 4 * c.MaxBlockTxBytes
	}
	if c.FetchBatch <= 0 {
		c.FetchBatch = 64
	}
	if c.MaxUncommittedRounds == 0 {
		c.MaxUncommittedRounds = 200
	}
	if least := c.GCDepth + c.MaxUncommittedRounds + 10; c.DedupeRounds < least {
		c.DedupeRounds = least
	}
	if c.TakeoverDelay <= 0 {
		c.TakeoverDelay = 32 * c.LeaderTimeout
	}
	if c.SyncGapRounds == 0 {
		c.SyncGapRounds = 10
	}
	if c.MaxForwardTimeDrift <= 0 {
		c.MaxForwardTimeDrift = DefaultMaxForwardTimeDrift
	}
	if c.ResyncInterval <= 0 {
		c.ResyncInterval = 2 * c.LeaderTimeout
	}
	return nil
}
