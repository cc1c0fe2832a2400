// Package order turns the committer's decided leaders into a total order (DESIGN §2,
// linearization) and cuts that order into ABCI blocks (DESIGN §3). Every output depends
// only on the ordered DAG, never on local clocks or arrival order, so every validator
// delivers identical ABCI blocks.
package order
