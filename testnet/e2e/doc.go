// Package e2e is Tutti's end-to-end fault runner (`tutti e2e MANIFEST`). A TOML manifest
// names a network of real `tutti start` processes on loopback, the app they run, a load,
// and timed perturbations: kill -9 and restart, pause and resume (SIGSTOP/SIGCONT), a
// graceful restart, partitions and added delay on the links (every peer link goes
// through a userspace fault proxy, p2p/faultproxy), and truncation of a stopped node's
// database tail. Twins (a second process with a validator's keys) make a node byzantine
// without any test-only code in the binary.
//
// After the run it reads every node's chain through its RPC and judges it with the
// simulator's checkers (engine/sim/check): the same block and app hash at every height
// on every honest node (S1, S5), no transaction committed twice (S2), no rollback across
// a restart (S3), every acknowledged transaction committed (S4), a constant ledger supply
// (S6), and after each heal every running node advancing again (L1).
package e2e
