// Package types holds the protocol's vocabulary: block references, DAG blocks, committees
// with their stake thresholds, epochs, and the canonical bytes blocks are hashed and signed
// over. It does no I/O and keeps no state beyond the values themselves.
package types
