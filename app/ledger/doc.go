// Package ledger is Tutti's own ABCI 2.0 application: accounts holding a
// token, moved by signed transfers. It runs in process or behind CometBFT's
// ABCI socket and gRPC servers, and knows nothing of the engine driving it.
// This package maps ABCI calls onto the state (package state) and schedules
// signature checks and execution across cores; README.md documents the
// genesis form, result codes, fees and the figures.
package ledger
