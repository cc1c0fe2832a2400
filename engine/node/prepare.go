package node

import (
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/core"
)

// PrepareProposal shapes this validator's own DAG block payload. The node reaps the
// mempool, asks the app off the loop, and hands the core exactly the app's list; it does so
// once per own block (the next list is prepared after that block is broadcast), so the
// core's next block carries the whole list and nothing else. Transactions the app left out
// stay in the mempool and are offered again, as on CometBFT, where PrepareProposal removes
// nothing from the mempool and only a recheck does.

// preparedList is the app's answer for one batch.
type preparedList struct {
	txs          [][]byte // what the own block will carry
	afterRelayed uint64   // the reaped batch's relay barrier (core.PayloadAvailable)
	err          error
}

// offerPayload starts a PrepareProposal for what the mempool holds beyond what our blocks
// already carry, unless one is in flight or the app's last list is not yet in a block.
// Only a committee member proposes, so only one asks (CometBFT asks only the proposer).
func (n *Node) offerPayload() {
	p := n.prop
	if p.preparing || p.batchQueued || n.core.Self() < 0 {
		return
	}
	txs, afterRelayed := n.pool.Reap(p.maxTxBytes, p.maxTxs)
	if len(txs) == 0 {
		return
	}
	p.preparing = true
	req := &abci.RequestPrepareProposal{MaxTxBytes: p.maxTxBytes, Txs: txs, Time: time.Now(),
		ProposerAddress: ed25519.PubKey(n.signer.PubKey()).Address()}
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		list := n.prepare(req)
		list.afterRelayed = afterRelayed
		select {
		case p.prepared <- list:
		case <-n.done:
			n.pool.Return(txs)
		}
	}()
}

// prepare asks the app, off the loop so ordering never waits on it, and returns the list
// the core gets: the app's transactions, in its order, cut at the first one that would break
// the block's limits (CometBFT refuses a list over max_tx_bytes; dropping the tail keeps the
// validator proposing). Reaped transactions not in that list go back to the mempool.
func (n *Node) prepare(req *abci.RequestPrepareProposal) preparedList {
	p := n.prop
	p.appMu.Lock()
	req.Height = p.proposalHeight()
	if v := p.last.Load(); v != nil {
		req.LocalLastCommit, req.NextValidatorsHash = extendedCommit(v.commit), v.nextValidatorsHash
	}
	res, err := n.conns.Consensus.PrepareProposal(n.stopCtx, req)
	p.appMu.Unlock()
	if err != nil {
		n.pool.Return(req.Txs)
		return preparedList{err: fmt.Errorf("PrepareProposal at height %d: %w", req.Height, err)}
	}
	var out [][]byte
	var size int64
	for i, tx := range res.Txs {
		if len(tx) == 0 || len(tx) > p.maxTxSize || size+int64(len(tx)) > p.maxTxBytes || len(out) == p.maxTxs {
			n.log.Error().Int64("height", req.Height).Int("kept", i).Int("returned", len(res.Txs)).Int64("max_tx_bytes", p.maxTxBytes).
				Msg("PrepareProposal returned more than a block holds (or an empty or oversized transaction); the rest is left out")
			break
		}
		out = append(out, tx)
		size += int64(len(tx))
	}
	kept := make(map[cmttypes.TxKey]bool, len(out))
	for _, tx := range out {
		kept[cmttypes.Tx(tx).Key()] = true
	}
	var left [][]byte
	for _, tx := range req.Txs {
		if !kept[cmttypes.Tx(tx).Key()] {
			left = append(left, tx)
		}
	}
	n.pool.Return(left)
	n.metrics.preparedProposal(len(req.Txs), len(out), len(left))
	return preparedList{txs: out}
}

// takePrepared hands the app's list to the core (on the loop).
func (n *Node) takePrepared(l preparedList) {
	p := n.prop
	p.preparing = false
	if l.err != nil {
		n.fail(l.err)
		return
	}
	// Even an empty list waits for the next own block: asking again at once would spin on a
	// mempool whose transactions the app keeps leaving out.
	p.batchQueued = true
	if len(l.txs) > 0 {
		n.takeRelayed() // the core must know the relayed transactions the barrier counts
		n.step(core.PayloadAvailable{Txs: l.txs, AfterRelayed: l.afterRelayed})
	}
}

// ownBlockSent notes an own block broadcast (on the loop): the app's last list is in it, so
// the next can be prepared.
func (n *Node) ownBlockSent(round uint64) {
	p := n.prop
	if round <= p.ownRound {
		return // a resync sends the same block again
	}
	p.ownRound, p.batchQueued = round, false
	if n.pool.Size() > 0 {
		signal(n.txReady)
	}
}
