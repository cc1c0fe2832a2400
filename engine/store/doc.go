// Package store is the node's durable storage: one goleveldb database holding the DAG
// blocks the core persists, the ordering progress, the ABCI block store (per height: the
// block, its execution result, FinalizeBlock's response and the validator sets that
// follow it), the genesis state InitChain fixed, and the transaction index (by hash and by
// events).
//
// Every logical write is one goleveldb batch, so a crash leaves it either whole or absent
// (tendermint#5888: Sync on the last of several writes does not flush the earlier ones).
// Every value carries a CRC32C over its key and payload, so a flipped byte or a value
// under the wrong key is reported with the key's name instead of being decoded. At Open
// the ABCI block store is checked to be contiguous and its last height complete; a torn
// last height is dropped, anything else refuses to start with a message naming the file.
// README.md has the key layout, the durability points and the recovery rules.
package store
