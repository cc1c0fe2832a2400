package sim

import (
	"context"
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/relay"
	"github.com/tutti-bft/tutti/engine/wire"
)

// Transaction relay, as the node runs it (engine/node/relay.go): every transaction an
// instance admits goes where engine/relay routes it, as a wire.TxRelay message over the
// simulated network (so relays are lost, duplicated, delayed and cut off like any other
// message); a receiver CheckTxs it into the real mempool and hands the core what the
// mempool admitted as fallbacks. Every instance is every other's peer.

// relaySelf is the instance's validator key while it is in its core's committee.
func (n *instance) relaySelf() []byte {
	key := n.signer.PubKey()
	if n.core.Epoch().Committee.IndexOf(key) < 0 {
		return nil
	}
	return key
}

func (n *instance) relayPeers() []relay.Peer {
	committee := n.core.Epoch().Committee
	var out []relay.Peer
	for _, o := range n.s.instances {
		if o.id == n.id {
			continue
		}
		p := relay.Peer{ID: strconv.Itoa(o.id)}
		if key := n.s.keys[o.author].PubKey(); committee.IndexOf(key) >= 0 {
			p.Validator = key
		}
		out = append(out, p)
	}
	return out
}

// relayOut sends tx wherever d routes it.
func (n *instance) relayOut(d relay.Decision, tx []byte) {
	if len(d.To) == 0 {
		return
	}
	payload := n.encode(wire.TxRelayMessage(d.Owner, [][]byte{tx}))
	for _, p := range d.To {
		to, _ := strconv.Atoi(p)
		n.s.net.send(n.id, to, payload)
	}
}

// receiveRelay admits relayed transactions and passes them on.
func (n *instance) receiveRelay(fromInstance int, m *wire.TxRelay) {
	propose := false
	for _, tx := range m.Txs {
		d := relay.Route(n.relaySelf(), tx, relay.From{Peer: strconv.Itoa(fromInstance), Owner: m.Owner}, n.relayPeers())
		res, err := n.pool.CheckRelayed(context.Background(), tx, d.Owner, d.Propose)
		if err != nil || res.Code != abci.CodeTypeOK {
			continue
		}
		n.s.stats.TxsRelayed++
		if n.s.hops.arrival != nil {
			n.s.hops.relayArrived(n, tx)
		}
		propose = propose || d.Propose
		n.relayOut(d, tx)
	}
	n.takeRelayed()
	if propose {
		n.offerPayload()
	}
}

// takeRelayed hands the core what the mempool admitted or dropped of relayed transactions.
func (n *instance) takeRelayed() {
	added, dropped := n.pool.TakeRelayed()
	if len(added) == 0 && len(dropped) == 0 {
		return
	}
	in := core.TxsRelayed{Dropped: dropped, Txs: make([]core.RelayedTx, len(added))}
	for i, a := range added {
		in.Txs[i] = core.RelayedTx{Seq: a.Seq, Tx: a.Tx, Owner: a.Owner}
	}
	n.input(in)
}
