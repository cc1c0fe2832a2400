// Package localnet runs an N-validator Tutti network as processes on this host: it writes
// the homes with the binary's `testnet` command, starts `tutti start` for each home (its
// log in the home), waits until the chain makes blocks, and stops every process it
// started. Run puts the whole loop of `tutti localnet` (and `make localnet`) together:
// generate, start, load with ledger transfers, report, stop.
//
// Like the rest of testnet/, it talks to the nodes only through their binary, signals,
// log files and RPC.
package localnet
