package relay

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"sort"
)

// Peer is a connected peer as routing sees it.
type Peer struct {
	ID string
	// Validator is the public key of the validator the peer is, once a block it sent
	// verified under that key; nil for a full node, or one not known yet.
	Validator []byte
}

// From says where an admitted transaction came from.
type From struct {
	Peer  string // "" for a client of this node
	Owner []byte // the owner the relaying peer named (nil: none)
}

// Decision is what to do with an admitted transaction.
type Decision struct {
	// Owner is the validator meant to propose it, named on every copy passed on (nil: none
	// known; the first validator that admits it takes it).
	Owner []byte
	// Propose: this node is that validator.
	Propose bool
	// To lists the peers to pass it on to.
	To []string
}

// Route decides for a transaction this node admitted. self is this node's validator key
// when it is in the committee, nil otherwise.
//
//   - A validator proposes what its clients send it and passes it on to every peer, as its
//     owner. A relay that names no owner makes it the owner the same way.
//   - A validator passes a relay that names an owner on to its non-validator peers only:
//     validators are connected to each other, and the owner (or the full node that chose
//     it) sent it to all of them already. So validators never relay each other's traffic.
//   - A full node passes everything on to every peer but the sender; for its own clients'
//     transactions (and relays naming no owner) it names an owner among the validators it
//     is connected to, picked by the transaction's hash so that the load spreads.
func Route(self, tx []byte, from From, peers []Peer) Decision {
	d := Decision{Owner: from.Owner}
	namedHere := d.Owner == nil
	if namedHere {
		if self != nil {
			d.Owner = self
		} else {
			d.Owner = pickOwner(tx, peers)
		}
	}
	d.Propose = self != nil && bytes.Equal(d.Owner, self)
	for _, p := range peers {
		switch {
		case p.ID == from.Peer:
		case self != nil && !namedHere && p.Validator != nil:
		default:
			d.To = append(d.To, p.ID)
		}
	}
	return d
}

// pickOwner chooses one of the validator peers by the transaction's hash.
func pickOwner(tx []byte, peers []Peer) []byte {
	var vals [][]byte
	for _, p := range peers {
		if p.Validator != nil {
			vals = append(vals, p.Validator)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	sort.Slice(vals, func(i, j int) bool { return bytes.Compare(vals[i], vals[j]) < 0 })
	h := sha256.Sum256(tx)
	return vals[binary.BigEndian.Uint64(h[:8])%uint64(len(vals))]
}
