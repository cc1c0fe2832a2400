// Package order turns the committer's decided leaders into a total order (PROTOCOL.md §4,
// linearization) and cuts that order into ABCI blocks (§5). Every output depends
// only on the ordered DAG, never on local clocks or arrival order, so every validator
// delivers identical ABCI blocks.
package order
