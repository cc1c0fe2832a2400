package smt

import (
	"bytes"
	"errors"
	"fmt"
)

// Proof shows what a tree holds at one key. Siblings are the hashes beside the
// path from the root down. The walk ends at Leaf (the key's own leaf, or
// another key's leaf sharing the path, which proves absence) or, when Leaf is
// nil, at an empty subtree (also absence).
type Proof struct {
	Siblings []Hash
	Leaf     *KV
}

// Get returns the value at key in the version rooted at root (nil if absent)
// together with a proof of it.
func (t *Tree) Get(root NodeRef, key Hash) ([]byte, Proof, error) {
	var p Proof
	ref := root
	for depth := 0; ; depth++ {
		if ref.IsEmpty() {
			return nil, p, nil
		}
		n, err := t.load(ref)
		if err != nil {
			return nil, p, err
		}
		if n.leaf {
			p.Leaf = &KV{Key: n.key, Value: n.value}
			if n.key == key {
				return n.value, p, nil
			}
			return nil, p, nil
		}
		if depth >= 256 {
			return nil, p, errors.New("smt: path longer than the key")
		}
		if bit(key, depth) == 0 {
			p.Siblings = append(p.Siblings, n.right.Hash)
			ref = n.left
		} else {
			p.Siblings = append(p.Siblings, n.left.Hash)
			ref = n.right
		}
	}
}

// Verify checks p against root for key. It returns the value proven to be at
// key, or nil when p proves the key absent; any inconsistency is an error.
func Verify(root Hash, key Hash, p Proof) ([]byte, error) {
	if len(p.Siblings) > 256 {
		return nil, fmt.Errorf("smt: proof has %d levels, keys have 256 bits", len(p.Siblings))
	}
	var cur Hash
	var value []byte
	if p.Leaf != nil {
		cur = leafHash(p.Leaf.Key, p.Leaf.Value)
		if p.Leaf.Key == key {
			value = p.Leaf.Value
			if value == nil {
				value = []byte{}
			}
		} else {
			for i := range p.Siblings {
				if bit(p.Leaf.Key, i) != bit(key, i) {
					return nil, errors.New("smt: absence proof ends at a leaf off the key's path")
				}
			}
		}
	}
	for i := len(p.Siblings) - 1; i >= 0; i-- {
		if bit(key, i) == 0 {
			cur = internalHash(cur, p.Siblings[i])
		} else {
			cur = internalHash(p.Siblings[i], cur)
		}
	}
	if !bytes.Equal(cur[:], root[:]) {
		return nil, errors.New("smt: proof does not lead to the root")
	}
	return value, nil
}

// Walk calls fn for every leaf of the version rooted at root, in key order,
// and stops at the first error fn returns.
func (t *Tree) Walk(root NodeRef, fn func(key Hash, value []byte) error) error {
	if root.IsEmpty() {
		return nil
	}
	n, err := t.load(root)
	if err != nil {
		return err
	}
	if n.leaf {
		return fn(n.key, n.value)
	}
	if err := t.Walk(n.left, fn); err != nil {
		return err
	}
	return t.Walk(n.right, fn)
}
