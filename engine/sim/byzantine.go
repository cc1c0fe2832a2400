package sim

import (
	"fmt"
	"time"

	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/engine/wire"
)

// behaviour is what a byzantine validator does on top of running the real core. An honest
// validator has the empty behaviour.
type behaviour string

const (
	honest     behaviour = ""
	equivocate behaviour = "equivocate" // a second, conflicting block per round, sent to half the peers
	withhold   behaviour = "withhold"   // its blocks reach only a few peers; the rest must fetch them
	garbage    behaviour = "garbage"    // also sends random bytes, oversized messages and bad signatures
	replay     behaviour = "replay"     // also resends its old blocks
	twin       behaviour = "twin"       // two instances with one key, on different sides of the network
	amnesia    behaviour = "amnesia"    // wipes its disk and restarts with the same key

	// Lying clocks: the validator runs the honest core on a clock a year off. Drawn on top
	// of the behaviours above (drawLies), or alone when named in Options.Behaviours.
	clockAhead  behaviour = "clock-ahead"
	clockBehind behaviour = "clock-behind"
)

// clockLie is how far a lying clock is off.
const clockLie = 365 * 24 * time.Hour

var allBehaviours = []behaviour{equivocate, withhold, garbage, replay, twin, amnesia}

// peersOf lists every instance but n.
func (n *instance) peers() []int {
	out := make([]int, 0, len(n.s.instances)-1)
	for _, o := range n.s.instances {
		if o.id != n.id {
			out = append(out, o.id)
		}
	}
	return out
}

func (n *instance) encode(m wire.Message) []byte {
	b, err := wire.Encode(m)
	if err != nil {
		panic(fmt.Sprintf("encode a message the core produced: %v", err)) // a bug in the core or wire
	}
	return b
}

// sendOwn broadcasts one of the instance's own blocks, as its behaviour dictates.
func (n *instance) sendOwn(b *types.Block) {
	n.s.observe(b)
	if n.s.hops.ownerRound != nil {
		n.s.hops.ownBlock(n, b)
	}
	n.lastOwn = b
	n.sentOwn = append(n.sentOwn, b)
	if len(n.sentOwn) > 64 {
		n.sentOwn = n.sentOwn[1:]
	}
	payload := n.encode(wire.BlockMessage(b))
	peers := n.peers()
	switch n.byz {
	case equivocate:
		// Two forks, each with its own marker transaction, and never the core's original:
		// if both forks of one slot are ever ordered, the markers show it (S2).
		forkA, forkB := n.encode(wire.BlockMessage(n.fork(b, "a"))), n.encode(wire.BlockMessage(n.fork(b, "b")))
		n.rng.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
		for i, p := range peers {
			if i%2 == 0 {
				n.s.net.send(n.id, p, forkA)
			} else {
				n.s.net.send(n.id, p, forkB)
			}
		}
		n.s.stats.fault("equivocation")
		return
	case withhold:
		n.rng.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
		peers = peers[:1+len(peers)/3]
		n.s.stats.fault("withheld-block")
	case garbage:
		n.sendGarbage(b, peers)
	case replay:
		if len(n.sentOwn) > 1 {
			old := n.sentOwn[n.rng.IntN(len(n.sentOwn)-1)]
			n.s.net.send(n.id, peers[n.rng.IntN(len(peers))], n.encode(wire.BlockMessage(old)))
			n.s.stats.fault("replayed-block")
		}
	}
	for _, p := range peers {
		n.s.net.send(n.id, p, payload)
	}
}

// fork returns another validly signed block for b's slot with different contents: an
// extra marker transaction only this fork carries.
func (n *instance) fork(b *types.Block, name string) *types.Block {
	// A fresh struct, not a copy: a Block caches its digest, and a copy would carry the
	// original's.
	f := types.Block{Epoch: b.Epoch, Round: b.Round, Author: b.Author, TimeMs: b.TimeMs, Parents: b.Parents,
		Evidence: b.Evidence, Attestation: b.Attestation}
	f.Txs = append(append([][]byte(nil), b.Txs...), []byte(forkMarker(name, b.Author, b.Round)))
	n.s.submitted[string(f.Txs[len(f.Txs)-1])] = true // a valid tx, just not an honest one
	d := f.Digest()
	f.Signature = n.signer.signAnyway(types.SignBytes(chainID, f.Round, d))
	return &f
}

// sendGarbage sends, besides the block, one of: random bytes, a message over the size
// limit, or the block with a broken signature. Every receiver must reject it and go on.
func (n *instance) sendGarbage(b *types.Block, peers []int) {
	to := peers[n.rng.IntN(len(peers))]
	switch n.rng.IntN(3) {
	case 0:
		junk := make([]byte, 1+n.rng.IntN(512))
		for i := range junk {
			junk[i] = byte(n.rng.UintN(256))
		}
		n.s.net.send(n.id, to, junk)
		n.s.stats.fault("garbage-message")
	case 1:
		n.s.net.send(n.id, to, make([]byte, n.s.limits.MaxMessageBytes+1))
		n.s.stats.fault("oversized-message")
	default:
		bad := *b
		bad.Signature = append([]byte(nil), b.Signature...)
		bad.Signature[n.rng.IntN(len(bad.Signature))] ^= 0xff
		n.s.net.send(n.id, to, n.encode(wire.BlockMessage(&bad)))
		n.s.stats.fault("bad-signature")
	}
}

// sendTo sends a core message to every instance of a validator.
// sendTo sends to the peer the core named: an index in its current committee, or a local
// number it was given for a sender outside the committee (peerNumber).
func (n *instance) sendTo(peer int, m wire.Message) {
	payload := n.encode(m)
	for _, o := range n.peerInstances(peer) {
		if o != n.id {
			n.s.net.send(n.id, o, payload)
		}
	}
}

// outsider numbers a sender that is not in the receiver's committee (as the node numbers
// such peers from 1<<20 on): outsider + its genesis author index.
const outsider = 1 << 20

// peerNumber is how this instance's core knows the sender: its index in the committee the
// core runs now, which after an epoch change is no longer its genesis author index (the
// node numbers peers the same way, by the current committee).
func (n *instance) peerNumber(fromInstance int) int {
	sender := n.s.instances[fromInstance]
	if n.core != nil {
		if i := n.core.Epoch().Committee.IndexOf(sender.signer.PubKey()); i >= 0 {
			return i
		}
		return outsider + sender.author
	}
	return sender.author
}

// peerInstances lists the instances behind a peer number (two for twins, which share a key).
func (n *instance) peerInstances(peer int) []int {
	if peer >= outsider {
		return n.s.instancesOf(peer - outsider)
	}
	if n.core == nil {
		return n.s.instancesOf(peer)
	}
	committee := n.core.Epoch().Committee
	if peer < 0 || peer >= committee.Size() {
		return nil
	}
	key := committee.Validators[peer].PubKey
	var out []int
	for _, o := range n.s.instances {
		if string(o.signer.PubKey()) == string(key) {
			out = append(out, o.id)
		}
	}
	return out
}

func forkMarker(name string, author int, round uint64) string {
	return fmt.Sprintf("fork-%s-%d-%d=x", name, author, round)
}
