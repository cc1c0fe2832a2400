// Package drive runs a protocol core the way every host runs it, the node on its
// goroutines, the simulator on virtual time and the core's cluster tests alike: it
// carries out each step's actions strictly in order (a synced persist completes before
// anything after it, so an own block is sent only once durable, then sends, then
// delivery), holds cut ABCI blocks for the executor behind a lag limit, and keeps the
// inputs of each peer in a queue of its own, served in turn. It checks what the core
// promises: a new own block is never sent before its synced persist, whatever the core
// emits. Execution is the step the node and the simulator both run per height: stored
// before the app's Commit, then the mempool updated.
//
// The driver does no I/O itself: the host persists, sends, sets timers and executes, and
// tells the driver when a synced write it was asked for is done.
package drive
