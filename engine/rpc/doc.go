// Package rpc serves CometBFT's JSON-RPC (HTTP POST JSON-RPC 2.0, URI GET and a websocket
// at /websocket) over a Tutti node's block store, mempool, app connections and events, so
// that Cosmos clients (the SDK CLI, CosmJS, cometbft's own rpc/client) work unchanged. The
// server, the result types and the event bus are cometbft's own packages; this package
// only answers each route from Tutti's state. README.md lists what differs from CometBFT.
package rpc
