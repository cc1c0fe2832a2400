package p2p

import (
	"fmt"

	cmtp2p "github.com/cometbft/cometbft/p2p"
)

// ID is a node ID as CometBFT prints it: the hex of the first 20 bytes of the
// SHA-256 of the node's ed25519 public key.
type ID = cmtp2p.ID

// NodeKey is the node's identity key, as stored in config/node_key.json.
type NodeKey = cmtp2p.NodeKey

// LoadNodeKey reads config/node_key.json in CometBFT's format.
func LoadNodeKey(path string) (*NodeKey, error) {
	return cmtp2p.LoadNodeKey(path)
}

// Address is a peer address that names the node expected at the other end.
type Address struct {
	ID   ID
	Host string // as dialled: host:port
}

func (a Address) String() string { return string(a.ID) + "@" + a.Host }

// ParseAddress parses ID@host:port with CometBFT's rules. The ID is mandatory:
// without it the remote end could not be authenticated.
func ParseAddress(s string) (Address, error) {
	na, err := cmtp2p.NewNetAddressString(s)
	if err != nil {
		return Address{}, fmt.Errorf("peer address %q: %w", s, err)
	}
	return Address{ID: na.ID, Host: na.DialString()}, nil
}
