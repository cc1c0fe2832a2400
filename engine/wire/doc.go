// Package wire is the one decoder of untrusted bytes from peers for the engine: it turns a
// size-limited frame into a block, a fetch request or response, a sync request or relayed
// transactions, or a clear error.
// It never panics on any input.
package wire
