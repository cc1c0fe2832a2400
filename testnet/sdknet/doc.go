// Package sdknet runs a real Cosmos SDK chain (simd v0.50, built from testnet/simd) as an
// external ABCI socket app under Tutti validators and tests that it works as it does on
// CometBFT: fresh starts that agree on the app hash and drive the app by ABCI's grammar
// (checked by a recording proxy between each node and its app), simd's own CLI through
// Tutti's RPC, healthy liveness accounting over 150 heights, transaction relay to any node
// (a full node and a validator killed after acknowledging included), validator power changes
// from a delegation, and a node whose app dies.
//
// The tests need simd, which takes minutes to build the first time (it is cached by its
// sources), so they run only with TUTTI_SDK_TEST=1: `make sdk`.
package sdknet
