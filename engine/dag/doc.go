// Package dag holds the blocks a validator has accepted, the blocks suspended until their
// parents arrive, and the rule that makes a block acceptable (engine/PROTOCOL.md §1). Every accepted
// block's parents above the GC round are accepted too (causal completeness). Blocks at or
// below the GC round are evicted, so memory stays bounded however long the DAG runs.
package dag
