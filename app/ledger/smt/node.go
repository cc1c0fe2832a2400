package smt

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// NodeRef names a stored node: the version that wrote it and its hash. The
// zero NodeRef is the empty subtree.
type NodeRef struct {
	Version uint64
	Hash    Hash
}

// IsEmpty reports whether the reference is the empty subtree.
func (r NodeRef) IsEmpty() bool { return r == NodeRef{} }

type node struct {
	leaf bool
	// leaf fields
	key   Hash
	value []byte
	// internal fields
	left, right NodeRef
}

const refSize = 8 + 32

func (n *node) hash() Hash {
	if n.leaf {
		return leafHash(n.key, n.value)
	}
	return internalHash(n.left.Hash, n.right.Hash)
}

func (n *node) encode() []byte {
	if n.leaf {
		b := make([]byte, 0, 1+32+len(n.value))
		b = append(b, leafPrefix)
		b = append(b, n.key[:]...)
		return append(b, n.value...)
	}
	b := make([]byte, 0, 1+2*refSize)
	b = append(b, internalPrefix)
	b = appendRef(b, n.left)
	return appendRef(b, n.right)
}

func appendRef(b []byte, r NodeRef) []byte {
	b = binary.BigEndian.AppendUint64(b, r.Version)
	return append(b, r.Hash[:]...)
}

func readRef(b []byte) NodeRef {
	var r NodeRef
	r.Version = binary.BigEndian.Uint64(b)
	copy(r.Hash[:], b[8:refSize])
	return r
}

var errCorruptNode = errors.New("smt: corrupt node record")

func decodeNode(b []byte) (*node, error) {
	if len(b) == 0 {
		return nil, errCorruptNode
	}
	switch b[0] {
	case leafPrefix:
		if len(b) < 1+32 {
			return nil, errCorruptNode
		}
		n := &node{leaf: true, value: append([]byte(nil), b[33:]...)}
		copy(n.key[:], b[1:33])
		return n, nil
	case internalPrefix:
		if len(b) != 1+2*refSize {
			return nil, errCorruptNode
		}
		return &node{left: readRef(b[1:]), right: readRef(b[1+refSize:])}, nil
	}
	return nil, fmt.Errorf("smt: unknown node kind %d", b[0])
}
