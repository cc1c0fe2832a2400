// Package core is the protocol state machine: Step(now, input) returns the actions the
// runtime must run, in order; Restore rebuilds the machine from what storage holds. It reads
// no clock, starts no goroutine, draws no randomness and does no I/O, so the simulator can
// replay any run exactly (PROTOCOL.md §6).
package core
