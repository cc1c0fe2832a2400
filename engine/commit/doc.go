// Package commit decides every leader slot of the DAG commit or skip (engine/PROTOCOL.md §3): support,
// votes, certificates and blames; direct commit and skip; indirect decision through the
// first committed anchor at least three rounds up; output of the longest decided prefix.
// It also holds the leader schedule, which rotates per round and demotes authors the
// committed history shows missing. It reads the DAG and never changes it.
package commit
