// Package engine holds Tutti's ordering engine. Its sub-packages types, dag, commit, order
// and core form the pure protocol state machine; the others give it a runtime, storage,
// a mempool, RPC and a simulator. This package itself only holds the test that keeps the
// protocol core free of I/O.
package engine
