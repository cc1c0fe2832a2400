// Package state holds the ledger's accounts: the rule a transfer applies, the
// overlays that stage changes (a block, the mempool's pending view), genesis,
// and the committed store in goleveldb whose app hash is the root of a sparse
// Merkle tree over every account, with proofs, versions and snapshots.
package state
