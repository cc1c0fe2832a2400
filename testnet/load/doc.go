// Package load is Tutti's load generator (`tutti load`): it sends kvstore transactions or
// signed ledger transfers to one or more nodes over CometBFT's RPC, open loop at a target
// rate or closed loop with a fixed number of workers, and measures each transaction's
// latency from its intended send time to the first websocket NewBlock event (which lists
// the block's transactions and results) of an observed node that reports it committed.
// It reports throughput, latency percentiles, refusals, transactions a node acknowledged
// but never committed, and transactions committed at two heights.
//
// The package talks to nodes only through their RPC (HTTP for broadcasts, websocket for
// events); it never reads a node's files.
package load
