package node

import (
	"context"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/types"
)

// ProcessProposal is an advisory filter before a peer's block is referenced (DESIGN §3).
// A reader goroutine that verified a peer's broadcast block queues it here; one worker
// asks the app and feeds rejections to the core as core.ProposalRejected, which leaves the
// block out of this validator's next parents unless they need it for quorum
// (engine/core/verdict.go). Nothing waits for a verdict: the block enters the DAG at once,
// and a verdict that comes after our next block changes nothing. The ordered result is the
// same on every node whatever each app answers, since verdicts only shape this validator's
// own votes.

// queueProposal offers a verified peer block for ProcessProposal (on a reader goroutine).
// Only a committee member asks, once per block; a full queue skips the check.
func (n *Node) queueProposal(b *types.Block, committee *types.Committee) {
	self := committee.IndexOf(n.signer.PubKey())
	if self < 0 || b.Author == self {
		return
	}
	p := n.prop
	d := b.Digest()
	p.askedMu.Lock()
	_, dup := p.asked[d]
	if !dup {
		if len(p.asked) >= 4*processQueue {
			p.asked = map[types.Digest]struct{}{}
		}
		p.asked[d] = struct{}{}
	}
	p.askedMu.Unlock()
	if dup {
		return
	}
	select {
	case p.queue <- b:
	default:
		n.metrics.receivedProposal("unchecked")
	}
}

// processLoop asks the app about queued peer blocks until the loop stops.
func (n *Node) processLoop() {
	p := n.prop
	for {
		select {
		case <-n.done:
			return
		case b := <-p.queue:
			accepted, err := n.process(b)
			if err != nil {
				n.fail(err)
				return
			}
			if accepted {
				n.metrics.receivedProposal("accepted")
				continue
			}
			n.metrics.receivedProposal("rejected")
			n.log.Debug().Int("author", b.Author).Uint64("round", b.Round).Int("txs", len(b.Txs)).
				Msg("the app rejected a peer's block in ProcessProposal; this validator does not support it")
			n.input(core.ProposalRejected{Ref: b.Ref()})
		}
	}
}

// process asks the app about one block. An error or a status other than ACCEPT/REJECT
// stops the node, as it stops CometBFT.
func (n *Node) process(b *types.Block) (bool, error) {
	p := n.prop
	committee := n.committee.Load()
	req := &abci.RequestProcessProposal{Txs: b.Txs, Hash: digestBytes(b.Digest()), Time: time.UnixMilli(b.TimeMs)}
	if b.Author >= 0 && b.Author < committee.Size() {
		req.ProposerAddress = ed25519.PubKey(committee.Validators[b.Author].PubKey).Address()
	}
	p.appMu.Lock()
	req.Height = p.proposalHeight()
	if v := p.last.Load(); v != nil {
		req.ProposedLastCommit, req.NextValidatorsHash = v.commit, v.nextValidatorsHash
	}
	res, err := n.conns.Consensus.ProcessProposal(context.Background(), req)
	p.appMu.Unlock()
	if err != nil {
		return false, fmt.Errorf("ProcessProposal at height %d: %w", req.Height, err)
	}
	switch res.Status {
	case abci.ResponseProcessProposal_ACCEPT:
		return true, nil
	case abci.ResponseProcessProposal_REJECT:
		return false, nil
	}
	return false, fmt.Errorf("ProcessProposal at height %d answered status %v; only ACCEPT and REJECT are valid", req.Height, res.Status)
}

func digestBytes(d types.Digest) []byte { return append([]byte(nil), d[:]...) }
