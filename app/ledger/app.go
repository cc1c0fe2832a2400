package ledger

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// AppVersion is the protocol version of the ledger's state machine.
const AppVersion = 1

// Version is reported by Info.
const Version = "1.0.0"

// App is the ledger. Its ABCI methods may be called from several connections
// at once; consensus calls are serialized by mu, and CheckTx does its
// stateless work (decoding, signature) before taking mu.
type App struct {
	// Only ExtendVote and VerifyVoteExtension come from BaseApplication: the
	// ledger has nothing to add to or check in votes.
	abci.BaseApplication

	cfg   config
	store *state.Store
	sigs  *sigCache

	mu      sync.Mutex
	pending *state.Overlay // mempool view: committed state + admitted txs
	pool    *appMempool    // txs admitted through InsertTx (app-side mempool)
	block   *blockInProgress
	restore *state.Restore
}

// blockInProgress is a block finalized and not yet committed.
type blockInProgress struct {
	height   int64
	included [][32]byte
	failed   int
	changed  int
	fees     uint64
}

type config struct {
	store        state.Options
	workers      int
	execWorkers  int
	chainID      string
	parallelMin  int
	mempoolTxs   int
	sigCacheSize int
	feeCollector tx.Address
	logger       zerolog.Logger
}

// Option configures New.
type Option func(*config)

// WithKeepVersions keeps this many committed heights queryable with proofs.
func WithKeepVersions(n int64) Option { return func(c *config) { c.store.KeepVersions = n } }

// WithSnapshots takes a state sync snapshot every interval heights, keeping
// the last keep, with chunkAccounts accounts per chunk (0 = default).
func WithSnapshots(interval int64, keep, chunkAccounts int) Option {
	return func(c *config) {
		c.store.SnapshotInterval, c.store.SnapshotKeep = interval, keep
		if chunkAccounts > 0 {
			c.store.ChunkAccounts = chunkAccounts
		}
	}
}

// WithWorkers sets how many goroutines verify a block's signatures
// (default GOMAXPROCS).
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithExecutionWorkers sets how many goroutines execute independent
// transfers (1 = block order on one goroutine). The default is GOMAXPROCS
// from 4 cores up and 1 below: on 2 cores, grouping a block into
// independent components cost more than it saved (README, figures).
func WithExecutionWorkers(n int) Option { return func(c *config) { c.execWorkers = n } }

// WithChainID pins the chain id. InitChain and snapshots naming another
// chain are refused; without it the app learns the id from InitChain or
// from the snapshot it restores.
func WithChainID(id string) Option { return func(c *config) { c.chainID = id } }

// WithCacheNodes bounds the decoded Merkle tree nodes kept in memory.
func WithCacheNodes(n int) Option { return func(c *config) { c.store.CacheNodes = n } }

// WithLogger logs the story of the chain (genesis, each committed height,
// snapshots, restores) to logger; the default logs nothing.
func WithLogger(l zerolog.Logger) Option { return func(c *config) { c.logger = l } }

// FeeCollector receives the fees of a block whose proposer address is not a
// 20-byte address. Its key is unknown (the address hashes a fixed label), so
// those fees are out of circulation but still counted in the supply.
var FeeCollector = tx.AddressFromPubKey([]byte("tutti/ledger/fee-collector"))

// New opens the ledger stored in dir, creating it if needed.
func New(dir string, opts ...Option) (*App, error) {
	cfg := config{
		store:        state.DefaultOptions(),
		workers:      runtime.GOMAXPROCS(0),
		execWorkers:  defaultExecutionWorkers(),
		parallelMin:  64,
		mempoolTxs:   10000,
		sigCacheSize: 1 << 17,
		feeCollector: FeeCollector,
		logger:       zerolog.Nop(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.workers, cfg.execWorkers = max(cfg.workers, 1), max(cfg.execWorkers, 1)
	st, err := state.Open(dir, cfg.store)
	if err != nil {
		return nil, err
	}
	if cfg.chainID != "" && st.ChainID() != "" && st.ChainID() != cfg.chainID {
		st.Close()
		return nil, fmt.Errorf("ledger: %s holds chain %q, configured for %q", dir, st.ChainID(), cfg.chainID)
	}
	a := &App{cfg: cfg, store: st, sigs: newSigCache(cfg.sigCacheSize), pool: newAppMempool(cfg.mempoolTxs)}
	a.pending = state.NewOverlay(mempoolBase{st})
	return a, nil
}

// Close releases the database. Anything not committed is lost, as after a crash.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.store.Close()
}

// Info reports the last committed height and app hash, from which the engine
// replays the blocks the app lacks.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	resp := &abci.ResponseInfo{Data: "tutti-ledger", Version: Version, AppVersion: AppVersion}
	if h := a.store.Height(); h > 0 {
		resp.LastBlockHeight = h
		resp.LastBlockAppHash = a.store.AppHash()
	}
	return resp, nil
}

// InitChain loads the genesis accounts from app_state. They are staged, not
// written: they become durable with the first block's Commit, and a crash
// before that makes the engine call InitChain again.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.store.Height() != 0 {
		return nil, fmt.Errorf("ledger: InitChain on a ledger already at height %d", a.store.Height())
	}
	if a.cfg.chainID != "" && req.ChainId != a.cfg.chainID {
		return nil, fmt.Errorf("ledger: InitChain for chain %q, configured for %q", req.ChainId, a.cfg.chainID)
	}
	if req.ChainId == "" {
		return nil, fmt.Errorf("ledger: InitChain without a chain id")
	}
	accounts, supply, err := state.ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	height := req.InitialHeight
	if height < 1 {
		height = 1
	}
	a.store.Discard()
	a.store.StageChainID(req.ChainId)
	appHash, err := a.store.Stage(height, accounts)
	if err != nil {
		return nil, err
	}
	a.cfg.logger.Info().Str("chain_id", req.ChainId).Int64("initial_height", height).Int("accounts", len(accounts)).
		Uint64("supply", supply).Hex("app_hash", appHash).Msg("genesis loaded")
	return &abci.ResponseInitChain{AppHash: appHash}, nil
}

func (a *App) chainID() string { return a.store.ChainID() }

func defaultExecutionWorkers() int {
	if n := runtime.GOMAXPROCS(0); n >= 4 {
		return n
	}
	return 1
}
