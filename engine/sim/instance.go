package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/proxy"

	"github.com/tutti-bft/tutti/abci/exec"
	"github.com/tutti-bft/tutti/abci/handshake"
	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/drive"
	"github.com/tutti-bft/tutti/engine/mempool"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/relay"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// fsyncDelay is how long a synced write takes; actions after it wait, and a crash in
// between loses the write. executorLag is the node's lag limit (engine/node deliverLag).
const (
	fsyncDelay  = 2 * time.Millisecond
	executorLag = 64
)

// instance is one running copy of a validator: the real core, a real ABCI app behind
// cometbft's local client, the real mempool, a simulated disk and clock. A twin is a
// second instance of the same validator.
type instance struct {
	s      *Sim
	id     int
	author int
	byz    behaviour
	signer *signer
	disk   disk
	rng    *rand.Rand
	// The node's clock: start + offset + elapsed × (1 + drift).
	offset time.Duration
	drift  float64

	up          bool
	halted      bool
	incarnation int
	core        *core.Core
	client      interface{ Stop() error }
	closeApp    func() error
	consensus   proxy.AppConnConsensus
	query       proxy.AppConnQuery
	exec        *exec.Executor
	pool        *mempool.Mempool
	drv         *drive.Driver // the node's driver around the core (engine/drive)
	inbox       *drive.Queue  // inputs the driver has not taken: the instance's own, then each peer's in turn
	results     []core.Input  // execution results, taken whenever the driver is ready
	pumping     bool
	executing   bool          // the app is busy with a height (slow app)
	appDelay    time.Duration // how long the app takes per height now (0: at once)
	timers      map[core.TimerKind]uint64
	timerSeq    uint64
	lastOwn     *types.Block // the last own block sent (equivocators fork it)
	sentOwn     []*types.Block
}

// now is the instance's local clock reading.
func (n *instance) now() time.Time { return n.localAt(n.s.sched.now) }

// localAt is the instance's clock reading at virtual time v.
func (n *instance) localAt(v time.Duration) time.Time {
	return n.s.sched.start.Add(n.offset + time.Duration(float64(v)*(1+n.drift)))
}

// virtualDelay converts a local-clock instant into a delay on the simulator's clock,
// rounded up: a timer never fires before its instant on the instance's own clock (a core
// that finds its timer early would ask for it again at the same instant, for ever).
func (n *instance) virtualDelay(at time.Time) time.Duration {
	local := at.Sub(n.s.sched.start) - n.offset
	d := time.Duration(math.Ceil(float64(local)/(1+n.drift))) - n.s.sched.now
	for n.localAt(n.s.sched.now + d).Before(at) {
		d++
	}
	return d
}

// start boots the instance from its disk: a fresh app, the ABCI handshake (InitChain, then
// replay of every stored height the app lacks), then core.Restore from the stored blocks.
func (n *instance) start() error {
	n.incarnation++
	factory := n.s.opt.App
	if factory == nil {
		factory = InMemoryKVStore
	}
	creator, closeApp, err := factory(n.id)
	if err != nil {
		return err
	}
	n.closeApp = closeApp
	client, err := creator.NewABCIClient()
	if err != nil {
		return err
	}
	if err := client.Start(); err != nil {
		return err
	}
	n.client = client
	n.consensus = proxy.NewAppConnConsensus(client, proxy.NopMetrics())
	n.query = proxy.NewAppConnQuery(client, proxy.NopMetrics())
	n.pool = mempool.New(mempool.Config{Size: 100000, MaxTxsBytes: 1 << 30, MaxTxBytes: 1 << 16,
		CacheSize: 100000, Recheck: true}, proxy.NewAppConnMempool(client, proxy.NopMetrics()))

	blocks, executed := n.disk.contents()
	hs, err := handshake.Run(context.Background(), handshake.AppConns(n.consensus, n.query), blockStore(executed),
		handshake.Genesis{Request: n.s.initChainRequest()})
	if err != nil {
		n.s.violate("S3", fmt.Sprintf("instance %d: %v", n.id, err))
		return err
	}
	n.exec = hs.Executor
	lastResult := hs.LastResult
	if !n.disk.initDone {
		n.disk.initAppHash, n.disk.initDone = hs.InitChainAppHash, true
	}
	initAppHash := n.disk.initAppHash
	n.signer.restore(blocks, n.author)
	cfg := n.s.coreConfig(initAppHash)
	c, actions, err := core.Restore(cfg, n.author, n.signer, n.s.verifier,
		core.State{Blocks: blocks, LastDeliveredHeight: int64(len(executed)), Results: storedResults(executed)})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	n.core, n.up, n.halted, n.executing = c, true, false, false
	n.drv = drive.New(c, n, executorLag)
	n.drv.SkipSendCheck = n.s.opt.NoSendCheck
	n.inbox, n.results, n.timers = drive.NewQueue(), nil, map[core.TimerKind]uint64{}
	n.drv.Start(actions)
	if lastResult != nil {
		// The core attests to the last executed height in its next block; a restarted core
		// learns it here, as the node's runtime tells it after its handshake.
		n.input(*lastResult)
	}
	n.input(core.Restart{})
	return nil
}

// crash stops the instance at once: unsynced writes are lost, the app and mempool (in
// memory) are gone, and pending events for this incarnation are ignored.
func (n *instance) crash() {
	if !n.up {
		return
	}
	lost, torn := n.disk.crash(n.rng)
	n.s.sched.note("crash %d lost=%d torn=%v", n.id, lost, torn)
	if torn {
		n.s.stats.fault("torn-write")
	}
	for _, tx := range n.pool.Pending(0) {
		if !n.s.heldElsewhere(n, tx) {
			n.s.excuse(tx)
		}
	}
	_ = n.client.Stop()
	if n.closeApp != nil {
		if err := n.closeApp(); err != nil {
			n.s.violate("app", fmt.Sprintf("instance %d: closing its app at the crash: %v", n.id, err))
		}
	}
	n.up, n.core, n.drv, n.pool = false, nil, nil, nil
	n.incarnation++
}

// input queues one of the instance's own inputs for the driver.
func (n *instance) input(in core.Input) {
	if !n.up || n.halted {
		return
	}
	n.inbox.PushLocal(in)
	n.pump()
}

// peerInput queues a peer's input in that peer's queue. A flooding peer's input is dropped
// as the node drops it (the node also closes its link); while the driver takes no inputs
// (the executor at the lag limit) it waits, as the node holds back the peer's reader.
func (n *instance) peerInput(fromInstance int, in core.Input) {
	if !n.up || n.halted {
		return
	}
	peer := strconv.Itoa(fromInstance)
	if n.inbox.Full(peer) && n.drv.TakesInputs() {
		n.s.stats.InputsDropped++
		return
	}
	n.inbox.PushPeer(peer, in)
	n.pump()
}

// pump feeds the driver what it takes, as the node's loop does: execution results whenever
// it is ready, other inputs only while the executor is below the lag limit; and hands cut
// blocks to the executor.
func (n *instance) pump() {
	if n.pumping {
		return
	}
	n.pumping = true
	defer func() { n.pumping = false }()
	for {
		n.runExecutor()
		if !n.up || n.halted || !n.drv.Ready() {
			return
		}
		var in core.Input
		switch {
		case len(n.results) > 0:
			in, n.results = n.results[0], n.results[1:]
		case n.drv.TakesInputs():
			var ok bool
			if in, ok = n.inbox.Pop(); !ok {
				return
			}
		default:
			return
		}
		n.drv.Step(n.now(), in)
		n.s.sched.note("step %d %T", n.id, in)
		if lag := n.drv.Pending(); lag > n.s.stats.MaxExecutorLag {
			n.s.stats.MaxExecutorLag = lag
		}
	}
}

// runExecutor hands cut blocks to the app one at a time: at once, or, while the app is
// slow, each after appDelay.
func (n *instance) runExecutor() {
	for n.up && !n.halted && !n.executing {
		b, ok := n.drv.Next()
		if !ok {
			return
		}
		n.drv.Taken()
		if n.appDelay == 0 {
			n.execute(b)
			continue
		}
		n.executing = true
		inc := n.incarnation
		n.s.sched.after(n.appDelay, fmt.Sprintf("execute %d h=%d", n.id, b.Height), func() {
			if inc != n.incarnation {
				return
			}
			n.executing = false
			n.execute(b)
			n.pump()
		})
	}
}

func (n *instance) setTimer(t core.SetTimer) {
	n.timerSeq++
	token := n.timerSeq
	n.timers[t.Kind] = token
	inc := n.incarnation
	n.s.sched.after(n.virtualDelay(t.At), fmt.Sprintf("timer %d kind=%d round=%d", n.id, t.Kind, t.Round), func() {
		if inc != n.incarnation || n.timers[t.Kind] != token {
			return
		}
		n.input(core.TimerFired{Kind: t.Kind, Round: t.Round})
	})
}

// execute runs one ABCI block through the real executor and app, stores it, and queues the
// result for the core.
func (n *instance) execute(b order.ABCIBlock) {
	// The node's execution step: the disk holds the height (synced) before the app's Commit.
	run := drive.Execution{Exec: n.exec, Pool: n.pool,
		Save: func(e *exec.Executed, r core.ExecutionResult) error {
			n.disk.write([]record{{executed: &executedRecord{block: b, result: r, next: e.NextValidators, afterNext: e.AfterNextValidators}}})
			n.disk.sync()
			return nil
		},
		Committed: func(_ *exec.Executed, r core.ExecutionResult) { n.s.committed(n, &b, r.AppHash) }}
	_, result, err := run.Height(context.Background(), &b)
	if err != nil {
		n.s.violate("exec", fmt.Sprintf("instance %d: %v", n.id, err))
		n.halted = true
		return
	}
	n.results = append(n.results, result)
	if added, dropped := n.pool.TakeRelayed(); len(added)+len(dropped) > 0 {
		in := core.TxsRelayed{Dropped: dropped}
		for _, a := range added {
			in.Txs = append(in.Txs, core.RelayedTx{Seq: a.Seq, Tx: a.Tx, Owner: a.Owner})
		}
		n.inbox.PushLocal(in)
	}
}

// submit is a client handing a transaction to this instance; it returns whether the
// instance acknowledged it (CheckTx passed and it is in the mempool).
func (n *instance) submit(tx []byte) bool {
	if !n.up || n.halted {
		return false
	}
	res, err := n.pool.CheckTx(context.Background(), tx)
	if err != nil || res.Code != abci.CodeTypeOK {
		return false
	}
	n.relayOut(relay.Route(n.relaySelf(), tx, relay.From{}, n.relayPeers()), tx)
	n.offerPayload()
	return true
}

func (n *instance) offerPayload() {
	if txs, after := n.pool.Reap(1<<20, 0); len(txs) > 0 {
		n.takeRelayed() // the core must know the relayed transactions the barrier counts
		n.input(core.PayloadAvailable{Txs: txs, AfterRelayed: after})
	}
}

// receive decodes a message with the node's size-limited decoder and feeds the core.
func (n *instance) receive(fromInstance int, payload []byte) {
	if !n.up || n.halted {
		return
	}
	msg, err := wire.Decode(payload, n.s.limits)
	if err != nil {
		n.s.stats.MessagesRejected++
		return
	}
	from := n.peerNumber(fromInstance)
	switch {
	case msg.Block != nil:
		n.peerInput(fromInstance, core.BlockReceived{From: from, Block: msg.Block})
	case msg.IsFetchRequest():
		n.peerInput(fromInstance, core.FetchRequested{From: from, Refs: msg.FetchRequest})
	case msg.Sync != nil:
		n.peerInput(fromInstance, core.SyncRequested{From: from, Epoch: msg.Sync.Epoch, Highest: msg.Sync.Highest})
	case msg.IsFetchResponse():
		n.peerInput(fromInstance, core.BlocksFetched{From: from, Blocks: msg.FetchResponse})
	case msg.Relay != nil:
		n.receiveRelay(fromInstance, msg.Relay)
	}
}

// storedResults lists the execution result of every stored height, which Restore needs to
// rebuild the committees of later epochs.
func storedResults(executed []executedRecord) []core.ExecutionResult {
	out := make([]core.ExecutionResult, len(executed))
	for i, e := range executed {
		out[i] = e.result
	}
	return out
}
