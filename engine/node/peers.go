package node

import (
	"sync"

	"github.com/tutti-bft/tutti/engine/types"
	"github.com/tutti-bft/tutti/p2p"
)

// localPeerBase numbers peers not known as a validator. The core names peers by validator
// index (it asks the author of a missing block, and rotates through validators when it
// resyncs), so a connected peer is known by its validator's index once a block it
// broadcast verified under that validator's key; any other peer gets a number from here up.
const localPeerBase = 1 << 20

// peerTable maps the core's peer numbers to p2p peers and back.
type peerTable struct {
	mu      sync.Mutex
	byKey   map[string]p2p.ID // validator public key -> the peer its blocks come from
	local   map[p2p.ID]int
	byLocal map[int]p2p.ID
	next    int
}

func newPeerTable() *peerTable {
	return &peerTable{byKey: map[string]p2p.ID{}, local: map[p2p.ID]int{}, byLocal: map[int]p2p.ID{}, next: localPeerBase}
}

// learn records that peer sent a block that verified under pubKey.
func (t *peerTable) learn(pubKey []byte, peer p2p.ID) {
	t.mu.Lock()
	t.byKey[string(pubKey)] = peer
	t.mu.Unlock()
}

// validatorKey is the public key of the validator peer's blocks verified under, if any.
func (t *peerTable) validatorKey(peer p2p.ID) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, id := range t.byKey {
		if id == peer {
			return []byte(key), true
		}
	}
	return nil, false
}

// number is the core's name for peer: its validator's index in committee when known.
func (t *peerTable) number(peer p2p.ID, committee *types.Committee) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, v := range committee.Validators {
		if t.byKey[string(v.PubKey)] == peer {
			return i
		}
	}
	n, ok := t.local[peer]
	if !ok {
		n = t.next
		t.next++
		t.local[peer], t.byLocal[n] = n, peer
	}
	return n
}

// peer resolves the core's peer number; ok is false when the validator's peer is unknown.
func (t *peerTable) peer(n int, committee *types.Committee) (p2p.ID, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n >= localPeerBase {
		id, ok := t.byLocal[n]
		return id, ok
	}
	if n < 0 || n >= committee.Size() {
		return "", false
	}
	id, ok := t.byKey[string(committee.Validators[n].PubKey)]
	return id, ok
}

// forget drops a disconnected peer's local number.
func (t *peerTable) forget(peer p2p.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n, ok := t.local[peer]; ok {
		delete(t.local, peer)
		delete(t.byLocal, n)
	}
}
