// Package node runs a validator (or a full node): it wraps the pure engine core in one event
// loop with a real clock and timers, feeds it peers' messages decoded by the single
// size-limited decoder (signatures verified off the loop), mempool payload and execution
// results, and carries out the actions it returns strictly in order: persist (and fsync)
// before any send that depends on it, then send, then hand ABCI blocks to the executor,
// which runs beside the loop with a bounded lag. Own blocks are signed through cometbft's
// privval file signer, so its double-sign watermark guards every DAG round.
package node
