// Package smt is the ledger's authenticated store: a compact sparse Merkle tree
// over 256-bit keys, whose nodes live in goleveldb, versioned by block height.
//
// A subtree holding a single key is that key's leaf, placed as high as it can
// go, so a tree of n keys has depth about log2(n) and an update of k keys
// touches O(k log n) nodes. Every write creates new nodes tagged with the
// version that made them and records the nodes it replaced in a stale index;
// Prune deletes a node once no retained version can reach it (the Jellyfish
// Merkle tree scheme), so recent versions stay readable and provable.
package smt
