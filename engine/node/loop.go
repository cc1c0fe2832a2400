package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tutti-bft/tutti/abci/exec"
	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/drive"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/store"
	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
	"github.com/tutti-bft/tutti/p2p"
)

// progressEvery is how often INFO reports round progress.
const progressEvery = 10 * time.Second

// inputBurst is how many inputs the loop takes in a row before it looks at its other
// cases (results, the hand-over to the executor) again.
const inputBurst = 64

// loop is the one goroutine that owns the core and its driver: every input goes through
// it, and the actions each step returns are carried out in order before the next input. It
// never blocks on a neighbour: ABCI blocks wait in the driver's queue for the executor, which a select case
// hands over only while there is one (as etcd-raft's node.run offers Ready), and results
// are read whatever else is waiting, so no step, however many heights it cuts, can leave
// the loop and the executor waiting on each other.
func (n *Node) loop(ctx context.Context) error {
	defer close(n.done)
	defer n.inbox.close()
	n.drv.Start(n.replay)
	n.replay = nil
	for _, in := range n.startup {
		n.step(in)
	}
	progress := time.NewTicker(progressEvery)
	defer progress.Stop()
	for {
		var deliver chan order.ABCIBlock
		next, ok := n.drv.Next()
		if ok {
			deliver = n.deliver
		}
		atLag := n.drv.AtLag()
		n.inbox.gate(atLag)
		inputs := n.inbox.ready
		if atLag {
			inputs = nil // the signal stays set: taken once the executor catches up
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-n.fatal:
			return err
		case err := <-n.conns.Failed():
			return err
		case r := <-n.results:
			n.step(r)
		case deliver <- next:
			n.drv.Taken()
		case <-inputs:
			for k := 0; k < inputBurst && n.drv.TakesInputs(); k++ {
				in, ok := n.inbox.pop()
				if !ok {
					break
				}
				n.step(in)
			}
			if !n.inbox.empty() {
				signal(n.inbox.ready)
			}
		case <-n.txReady:
			n.offerPayload()
		case <-n.relay.ready:
			n.takeRelayed()
		case l := <-n.prop.prepared:
			n.takePrepared(l)
		case <-progress.C:
			s := n.core.Stats()
			n.log.Info().Uint64("round", s.Round).Int64("height", s.Height).Uint64("epoch", s.Epoch).
				Uint64("commits", s.Commits).Uint64("skipped", s.Skipped).Int("peers", len(n.sw.Peers())).
				Int("mempool", n.pool.Size()).Msg("progress")
		}
		n.metrics.observeLoop(n)
		if n.core.Halted() {
			return fmt.Errorf("the engine halted to protect safety; see the ERROR above")
		}
		if !n.drv.Ready() {
			// The driver stopped (its error is on n.fatal) or waits for a synced persist,
			// which the node's store never leaves under way.
			return <-n.fatal
		}
	}
}

// step feeds the core through the driver (engine/drive), which carries out its actions in
// order: a synced persist completes before any action after it (the broadcast of the block
// it holds among them) runs, and cut ABCI blocks wait in its queue for the executor.
func (n *Node) step(in core.Input) {
	if !n.drv.Ready() {
		return // stopped: the loop returns its error
	}
	n.drv.Step(time.Now(), in)
	n.cutHeight.Store(n.core.Stats().Height)
	if c := n.core.Epoch().Committee; c != n.committee.Load() {
		n.committee.Store(c)
		n.log.Info().Uint64("epoch", n.core.Epoch().Number).Int("validators", c.Size()).
			Uint64("start_round", n.core.Epoch().StartRound).Int("validator_index", n.core.Self()).Msg("entered a new epoch")
	}
}

func (n *Node) broadcast(m wire.Message) {
	bz, err := wire.Encode(m)
	if err != nil {
		n.fail(fmt.Errorf("encode a message: %w", err))
		return
	}
	n.sw.Broadcast(p2p.ChannelConsensus, bz)
}

// sendTo sends to the peer the core named; a validator whose peer is unknown yet is asked
// through every peer.
func (n *Node) sendTo(peer int, m wire.Message) {
	bz, err := wire.Encode(m)
	if err != nil {
		n.fail(fmt.Errorf("encode a message: %w", err))
		return
	}
	ch := p2p.ChannelSync
	if id, ok := n.peers.peer(peer, n.committee.Load()); ok {
		n.sw.TrySend(id, ch, bz)
		return
	}
	n.sw.Broadcast(ch, bz)
}

func (n *Node) setTimer(t core.SetTimer) {
	if old := n.timers[t.Kind]; old != nil {
		old.Stop()
	}
	fired := core.TimerFired{Kind: t.Kind, Round: t.Round}
	n.timers[t.Kind] = time.AfterFunc(time.Until(t.At), func() { n.inbox.pushLocal(fired) })
}

// receive runs on a peer's reader goroutine: it decodes with the size-limited decoder,
// verifies a broadcast block's signature here, off the loop (the core then finds it in the
// cache), learns which validator the peer is, and queues the input in the peer's own
// queue (inbox.go).
func (n *Node) receive(peer p2p.ID, ch p2p.ChannelID, bz []byte) {
	m, err := wire.Decode(bz, n.limits)
	if err != nil {
		// A peer of this chain sends only what the decoder takes, on every channel, as
		// CometBFT drops a peer whose message it cannot decode. Its persistent-peer
		// dialling backs off as after any lost connection.
		if n.sw.Disconnect(peer, fmt.Errorf("%w on channel %#x: %v", errUndecodable, byte(ch), err)) {
			n.metrics.undecodablePeer()
			n.log.Warn().Str("peer", string(peer)).Uint8("channel", byte(ch)).Err(err).
				Msg("disconnected a peer that sent a message this node cannot decode")
		}
		return
	}
	committee := n.committee.Load()
	switch {
	case m.Block != nil:
		b := m.Block
		if b.Author >= 0 && b.Author < committee.Size() {
			if b.VerifySignature(n.gen.ChainID, committee, n.verify) == nil {
				n.peers.learn(committee.Validators[b.Author].PubKey, peer)
			}
		}
		n.input(peer, core.BlockReceived{From: n.peers.number(peer, committee), Block: b})
	case m.IsFetchRequest():
		n.input(peer, core.FetchRequested{From: n.peers.number(peer, committee), Refs: m.FetchRequest})
	case m.Sync != nil:
		n.input(peer, core.SyncRequested{From: n.peers.number(peer, committee), Epoch: m.Sync.Epoch, Highest: m.Sync.Highest})
	case m.Relay != nil:
		n.receiveRelay(peer, m.Relay)
	case m.IsFetchResponse():
		for _, b := range m.FetchResponse {
			if b.Author >= 0 && b.Author < committee.Size() {
				_ = b.VerifySignature(n.gen.ChainID, committee, n.verify) // warm the cache
			}
		}
		n.input(peer, core.BlocksFetched{From: n.peers.number(peer, committee), Blocks: m.FetchResponse})
	}
}

// errUndecodable closes the link of a peer that sent a message the decoder refuses.
var errUndecodable = errors.New("it sent an undecodable message")

// errFlooding closes the link of a peer that keeps its input queue full.
var errFlooding = errors.New("it sent faster than this node takes its messages, for longer than its queue of inputs holds")

// input queues a peer's input for the loop; a peer that floods is disconnected (its
// persistent-peer dialling backs off as after any lost connection).
func (n *Node) input(peer p2p.ID, in core.Input) {
	if n.inbox.pushPeer(peer, in) {
		return
	}
	if n.sw.Disconnect(peer, errFlooding) {
		n.metrics.floodedPeer()
		n.log.Warn().Str("peer", string(peer)).Int("queued", perPeerInputs).
			Msg("disconnected a peer that floods this node with messages; other peers are unaffected")
	}
}

// peerUp and peerDown: the p2p layer logs connections (INFO) and losses; the node only
// keeps its peer table current.
func (n *Node) peerUp(p2p.PeerInfo) {}

func (n *Node) peerDown(id p2p.ID, _ error) {
	n.peers.forget(id)
	n.inbox.drop(id)
}

// executeLoop runs beside the loop: it executes each delivered ABCI block through the app,
// stores it with one synced batch before the app commits it (so a crash leaves the app
// behind the store, never ahead), updates the mempool and hands the result back.
//
// It stops executing at shutdown or after a failed height (the app must not see the next
// one), and drains what is still delivered so the loop never blocks on it. A height in
// progress at shutdown runs to its Commit, so a clean stop never leaves the app between
// FinalizeBlock and Commit; only a broken connection ends it early (abci/conn).
func (n *Node) executeLoop(ctx context.Context) {
	heightCtx := context.WithoutCancel(ctx)
	failed := false
	for b := range n.deliver {
		if failed || ctx.Err() != nil {
			continue
		}
		start := time.Now()
		n.prop.appMu.Lock() // no PrepareProposal inside a height's calls (proposal.go)
		appLocked := true
		run := drive.Execution{Exec: n.exec, Pool: n.pool,
			Save: func(e *exec.Executed, r core.ExecutionResult) error {
				if err := n.store.SaveExecuted(storeExecuted(&b, e, r)); err != nil {
					return err
				}
				crashpoint("commit") // stored, not yet committed by the app
				return nil
			},
			Committed: func(e *exec.Executed, r core.ExecutionResult) {
				n.prop.appHeight = b.Height
				n.prop.last.Store(&lastCommitView{commit: e.Request.DecidedLastCommit,
					nextValidatorsHash: e.NextValidatorsHash})
				n.prop.appMu.Unlock()
				appLocked = false
				n.height.Store(b.Height)
				if e.Rejected {
					n.metrics.receivedProposal("rejected")
					n.log.Warn().Int64("height", b.Height).Str("hash", fmt.Sprintf("%X", b.Hash)).
						Msg("the app rejected this height in ProcessProposal, but the DAG already ordered it: it was executed, as CometBFT executes a block a quorum accepted; if the app rejects blocks that other nodes accept, check it for non-determinism")
				} else {
					n.metrics.receivedProposal("accepted")
				}
				crashpoint("execute")
			}}
		executed, result, err := run.Height(heightCtx, &b)
		if appLocked {
			n.prop.appMu.Unlock()
		}
		if executed != nil {
			signal(n.relay.ready) // the recheck may have dropped relayed transactions
			if n.cfg.TxIndex.Indexer != "null" {
				n.toIndex.put(&b, executed.Response)
			}
			signal(n.indexed) // stored: the indexer may index it
		}
		if err != nil {
			n.fail(err)
			failed = true
			continue
		}
		n.metrics.executed(&b, time.Since(start))
		n.publishHeight(&b, executed.Response)
		n.log.Info().Int64("height", b.Height).Int("txs", len(b.Txs)).Str("hash", fmt.Sprintf("%X", b.Hash)).
			Str("app_hash", fmt.Sprintf("%X", result.AppHash)).Dur("exec", time.Since(start)).
			Dur("latency", time.Since(time.UnixMilli(b.TimeMs))).Msg("committed")
		select {
		case n.results <- result:
		case <-n.done: // the loop stopped: nobody reads results any more
		}
		if n.pool.Size() > 0 {
			signal(n.txReady)
		}
	}
}

func storeExecuted(b *order.ABCIBlock, e *exec.Executed, r core.ExecutionResult) store.ExecutedHeight {
	return store.ExecutedHeight{Block: b, Result: r, Response: e.Response,
		NextValidators: e.NextValidators, AfterNextValidators: e.AfterNextValidators}
}

var _ types.Signer = (*PrivValSigner)(nil)
