package node

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/abci/conn"
	"github.com/tutti-bft/tutti/abci/exec"
	"github.com/tutti-bft/tutti/abci/handshake"
	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/drive"
	"github.com/tutti-bft/tutti/engine/genesis"
	"github.com/tutti-bft/tutti/engine/mempool"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/store"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
	"github.com/tutti-bft/tutti/p2p"
)

// deliverLag is the executor's lag limit: once that many ABCI blocks are cut and not yet
// handed to the executor, the loop takes no peer input (and so cuts nothing more) until
// the executor catches up; results and the hand-over itself never wait.
const deliverLag = 64

// Node is one running node.
type Node struct {
	cfg    *config.Config
	log    zerolog.Logger
	gen    *genesis.Doc
	store  *store.Store
	conns  *conn.Conns
	pool   *mempool.Mempool
	exec   *exec.Executor
	signer *PrivValSigner
	verify *verifyCache
	limits wire.Limits
	sw     *p2p.Switch
	peers  *peerTable

	core      *core.Core // owned by the loop goroutine
	committee atomic.Pointer[types.Committee]
	height    atomic.Int64 // last executed height
	cutHeight atomic.Int64 // last height the core cut (the loop writes it)
	catchUp   catchUp      // status' catching_up (catchup.go)

	metrics     *metrics     // nil unless [instrumentation] prometheus = true
	metricsAddr atomic.Value // string: where /metrics is served now
	rpcServer   rpcHolder    // the JSON-RPC server once Run started it (rpc.go)

	drv     *drive.Driver // the core's driver (engine/drive); loop only
	inbox   *inbox        // peers' and timers' inputs (inbox.go)
	deliver chan order.ABCIBlock
	results chan core.ExecutionResult
	fatal   chan error
	done    chan struct{}   // closed when the loop stops
	stopCtx context.Context // Run's context: cancelled on shutdown, it ends the app calls that may be dropped
	prop    *proposals      // PrepareProposal (proposal.go)
	relay   *relayer        // transaction relay (relay.go)
	bg      sync.WaitGroup  // proposal and storage-serving goroutines, waited for before Run returns
	txReady chan struct{}
	indexed chan struct{} // wakes the indexer: a height was stored (indexer.go)
	toIndex indexHandoff  // the executed heights the indexer has not taken
	serving chan struct{} // storage reads under way for peers catching up (serve.go)
	timers  map[core.TimerKind]*time.Timer

	startup []core.Input // the handshake's last result and Restart, fed when the loop starts
	replay  []core.Action
	closeMu sync.Mutex
	closed  bool
}

// Open builds a node from its home's configuration: the genesis, the block store (checked
// and recovered), the app's four connections with the ABCI handshake (InitChain or the
// replay of heights the app lacks), the privval signer and the core restored from storage.
func Open(cfg *config.Config, logger zerolog.Logger) (n *Node, err error) {
	gen, err := genesis.Load(cfg.GenesisFile())
	if err != nil {
		return nil, err
	}
	n = &Node{cfg: cfg, log: logger, gen: gen, verify: newVerifyCache(), limits: wire.DefaultLimits(),
		peers: newPeerTable(), inbox: newInbox(), deliver: make(chan order.ABCIBlock),
		results: make(chan core.ExecutionResult, 2), fatal: make(chan error, 1), done: make(chan struct{}),
		txReady: make(chan struct{}, 1), indexed: make(chan struct{}, 1), relay: newRelayer(), serving: make(chan struct{}, maxServing), timers: map[core.TimerKind]*time.Timer{}}
	// The deferred close needs its own reference: a failing return sets the named result n
	// to nil before deferred calls run.
	opened := n
	defer func() {
		if err != nil {
			opened.Close()
		}
	}()
	dbPath := filepath.Join(cfg.DBPath(), store.DBName)
	if n.store, err = store.Open(cfg.DBPath()); err != nil {
		return nil, err
	}
	if cfg.TxIndex.Indexer == "null" {
		n.store.IndexOff()
	}
	if rec := n.store.Recovered(); len(rec.JournalDrops) > 0 || len(rec.DroppedHeights) > 0 {
		logger.Warn().Str("db", dbPath).Strs("journal_drops", rec.JournalDrops).Ints64("dropped_heights", rec.DroppedHeights).
			Msg("recovered the block store to its last consistent point after an unclean stop")
	}
	if n.signer, err = LoadPrivValSigner(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile()); err != nil {
		return nil, err
	}
	creator, err := conn.Creator(cfg.ProxyApp, cfg.ABCI, cfg.DBPath(), conn.Builtins)
	if err != nil {
		return nil, err
	}
	if n.conns, err = conn.Open(creator, cfg.ProxyApp, logger); err != nil {
		return nil, err
	}
	n.pool = mempool.New(mempool.Config{Size: cfg.Mempool.Size, MaxTxsBytes: cfg.Mempool.MaxTxsBytes,
		MaxTxBytes: cfg.Mempool.MaxTxBytes, CacheSize: cfg.Mempool.CacheSize, Recheck: cfg.Mempool.Recheck}, n.conns.Mempool)
	n.metrics = newMetrics(cfg.Instrumentation, n.pool, n.store)
	if err := n.handshakeAndRestore(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *Node) handshakeAndRestore() error {
	ctx := context.Background()
	hs, err := handshake.Run(ctx, handshake.AppConns(n.conns.Consensus, n.conns.Query), n.store, handshake.Genesis{Request: n.initChainRequest()})
	if err != nil {
		return err
	}
	n.exec = hs.Executor
	if hs.InitialValidators != nil {
		if err := n.store.SaveGenesis(store.Genesis{AppHash: hs.InitChainAppHash, Validators: hs.InitialValidators}); err != nil {
			return err
		}
	}
	g, err := n.store.Genesis()
	if err != nil {
		return fmt.Errorf("read the stored genesis: %w", err)
	}
	committee, err := types.NewCommittee(exec.Committee(g.Validators))
	if err != nil {
		return fmt.Errorf("genesis validators: %w", err)
	}
	n.committee.Store(committee)
	for _, h := range hs.Replayed {
		n.log.Info().Int64("height", h).Msg("replayed a stored height into the app")
	}

	st, err := n.store.State()
	if err != nil {
		return err
	}
	for h := int64(1); h <= st.LastDeliveredHeight; h++ {
		_, r, err := n.store.Executed(h)
		if err != nil {
			return fmt.Errorf("read executed height %d: %w", h, err)
		}
		st.Results = append(st.Results, r)
	}
	self := committee.IndexOf(n.signer.PubKey())
	if self < 0 && n.signer.LastSignedRound() > 0 {
		n.log.Warn().Uint64("last_signed_round", n.signer.LastSignedRound()).Str("key_file", n.cfg.PrivValidatorKeyFile()).
			Msg("this node's validator key is not in the validator set, yet its signing state shows it signed before: it runs as a " +
				"non-validator; if it should validate, check that `tutti show-validator` prints the key the genesis or the app names")
	}
	coreCfg := n.coreConfig(committee, g.AppHash)
	n.prop = newProposals(coreCfg)
	n.prop.appHeight = n.store.Height()
	c, actions, err := core.Restore(coreCfg, self, n.signer, n.verify, st)
	if err != nil {
		return fmt.Errorf("restore the engine from %s: %w", n.store.Path(), err)
	}
	n.core, n.replay = c, actions
	n.drv = drive.New(c, host{n}, deliverLag)
	n.cutHeight.Store(c.Stats().Height)
	n.height.Store(n.store.Height())
	if hs.LastResult != nil {
		n.startup = append(n.startup, *hs.LastResult)
	}
	n.startup = append(n.startup, core.Restart{})
	n.log.Info().Int64("height", n.store.Height()).Int("blocks", len(st.Blocks)).Int("validator_index", self).
		Uint64("last_signed_round", n.signer.LastSignedRound()).Msg("restored")
	return nil
}

// coreConfig is the protocol's configuration. The [consensus] keys that decide what is
// ordered (GC depth, block cut, epoch length) must be equal on every validator.
func (n *Node) coreConfig(committee *types.Committee, initialAppHash []byte) core.Config {
	c := n.cfg.Consensus
	epoch := types.Epoch{Number: 0, StartRound: 1, GenesisTimeMs: n.gen.GenesisTime.UnixMilli(), Committee: committee}
	cfg := core.DefaultConfig(n.gen.ChainID, epoch)
	cfg.LeaderSlots = c.LeaderSlotsPerRound
	cfg.LeaderTimeout, cfg.MinRoundDelay = c.LeaderTimeout.D(), c.MinRoundDelay.D()
	cfg.MaxForwardTimeDrift = c.MaxForwardTimeDrift.D()
	cfg.GCDepth = uint64(c.GCDepth)
	cfg.MaxBlockTxBytes = c.DAGBlockMaxBytes
	cfg.Cut.InitialHeight = n.gen.InitialHeight
	cfg.Cut.InitialAppHash = initialAppHash
	cfg.Cut.MaxBytes = c.BlockMaxBytes
	cfg.Cut.TargetIntervalMs = c.BlockTargetInterval.D().Milliseconds()
	cfg.Cut.MaxEmptyIntervalMs = c.MaxEmptyBlockInterval.D().Milliseconds()
	cfg.Cut.MinEpochRounds = uint64(c.MinEpochRounds)
	cfg.Cut.StragglerWaitMs = c.StragglerWait.D().Milliseconds()
	return cfg
}

func (n *Node) initChainRequest() *abci.RequestInitChain {
	params := n.gen.ConsensusParams
	if params == nil {
		def := cmttypes.DefaultConsensusParams()
		params = def
	}
	pp := params.ToProto()
	req := &abci.RequestInitChain{Time: n.gen.GenesisTime, ChainId: n.gen.ChainID, InitialHeight: n.gen.InitialHeight,
		ConsensusParams: &pp, AppStateBytes: n.gen.AppState}
	if len(n.gen.Validators) > 0 {
		vals := make([]*cmttypes.Validator, len(n.gen.Validators))
		for i, v := range n.gen.Validators {
			vals[i] = cmttypes.NewValidator(v.PubKey, v.Power)
		}
		req.Validators = cmttypes.TM2PB.ValidatorUpdates(cmttypes.NewValidatorSet(vals))
	}
	return req
}

// Run starts networking, the executor and the event loop, and blocks until ctx ends (a
// clean stop) or something fails that the node cannot continue from.
func (n *Node) Run(ctx context.Context) error {
	key, err := p2p.LoadNodeKey(n.cfg.NodeKeyFile())
	if err != nil {
		return err
	}
	pcfg := p2p.DefaultConfig(n.gen.ChainID)
	pcfg.Moniker = n.cfg.Moniker
	if err := n.describeSelf(ctx, &pcfg); err != nil {
		return err
	}
	pcfg.ListenAddress = strings.TrimPrefix(n.cfg.P2P.ListenAddress, "tcp://")
	pcfg.PersistentPeers = config.SplitList(n.cfg.P2P.PersistentPeers)
	pcfg.MaxInboundPeers = n.cfg.P2P.MaxNumInboundPeers
	if n.cfg.P2P.AllowDuplicateIP {
		// Peers on one host (a local testnet) all dial from one IP.
		pcfg.MaxPendingHandshakesPerIP = 0
	}
	for i, ch := range pcfg.Channels {
		if ch.ID == p2p.ChannelTx {
			// A relay carries at least one transaction of the largest size the mempool takes.
			pcfg.Channels[i].MaxMsgBytes = max(ch.MaxMsgBytes, n.cfg.Mempool.MaxTxBytes+64<<10)
		}
	}
	if n.sw, err = p2p.New(pcfg, key, p2p.Handlers{Receive: n.receive, PeerUp: n.peerUp, PeerDown: n.peerDown},
		n.log.With().Str("module", "p2p").Logger()); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n.stopCtx = ctx
	stopMetrics, err := n.serveMetrics()
	if err != nil {
		return err
	}
	defer stopMetrics() // on return, so /metrics answers until the loop and executor have stopped
	if err := n.sw.Start(ctx); err != nil {
		return err
	}
	stopRPC, err := n.startRPC()
	if err != nil {
		n.sw.Stop()
		return err
	}
	defer stopRPC() // on return: after the executor, which publishes each height, stopped
	n.log.Info().Str("node_id", string(n.sw.ID())).Str("listen", n.sw.ListenAddr()).Str("chain_id", n.gen.ChainID).
		Int("validator_index", n.core.Self()).Msg("node started")
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); n.executeLoop(ctx) }()
	go func() { defer wg.Done(); n.indexLoop(ctx) }()
	go func() { defer wg.Done(); n.relayWorker(ctx) }()
	go func() { defer wg.Done(); n.relaySender() }()
	err = n.loop(ctx)
	cancel()
	n.sw.Stop()
	close(n.deliver)
	wg.Wait()
	n.bg.Wait()
	for _, t := range n.timers {
		t.Stop()
	}
	return err
}

// Close releases the app connections and the store. Call it after Run returns.
func (n *Node) Close() {
	n.closeMu.Lock()
	defer n.closeMu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	if n.conns != nil {
		if err := n.conns.Close(); err != nil {
			n.log.Warn().Err(err).Msg("closing the app connections")
		}
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.log.Error().Err(err).Msg("closing the block store failed; it is checked at the next start")
		}
	}
}

// Height is the last executed height.
func (n *Node) Height() int64 { return n.height.Load() }

// Store is the node's block store (read-only use: RPC, tests).
func (n *Node) Store() *store.Store { return n.store }

// CheckTx admits a client transaction into the mempool; the node proposes it in its next
// blocks. It returns the app's CheckTx answer, or the mempool's refusal.
func (n *Node) CheckTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	res, err := n.pool.CheckTx(ctx, tx)
	n.metrics.checkedTx(len(tx), res, err)
	if err == nil && res.Code == abci.CodeTypeOK {
		handoff := n.relayAdmitted(tx)
		signal(n.txReady)
		if handoff != nil {
			select {
			case <-handoff:
			case <-ctx.Done():
			case <-n.done:
			}
		}
	}
	return res, err
}

// fail stops the node with err. The first error is what Run returns; one that comes
// after it (often a consequence) is logged so it is not lost.
func (n *Node) fail(err error) {
	select {
	case n.fatal <- err:
	default:
		n.log.Error().Err(err).Msg("a further failure while the node stops; it may follow from the first, reported when the node exits")
	}
}
