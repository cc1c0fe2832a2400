package smt

import "crypto/sha256"

// Hash is a sha256 digest; the zero Hash is the hash of an empty subtree.
type Hash [32]byte

// Domain bytes keep a leaf from ever hashing like an internal node.
const (
	leafPrefix     = 0x00
	internalPrefix = 0x01
)

// KeyHash maps arbitrary key bytes to the tree's 256-bit path.
func KeyHash(key []byte) Hash { return sha256.Sum256(key) }

func leafHash(key Hash, value []byte) Hash {
	valueHash := sha256.Sum256(value)
	var buf [1 + 64]byte
	buf[0] = leafPrefix
	copy(buf[1:], key[:])
	copy(buf[33:], valueHash[:])
	return sha256.Sum256(buf[:])
}

func internalHash(left, right Hash) Hash {
	var buf [1 + 64]byte
	buf[0] = internalPrefix
	copy(buf[1:], left[:])
	copy(buf[33:], right[:])
	return sha256.Sum256(buf[:])
}

// bit returns bit i (0 = most significant) of the key: the branch taken at depth i.
func bit(key Hash, i int) int { return int(key[i/8]>>(7-uint(i%8))) & 1 }
