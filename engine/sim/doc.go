// Package sim is Tutti's deterministic simulator: it runs the real engine core of every
// validator, with a real ABCI app each, inside one goroutine on virtual time, and attacks
// them with a seeded adversary: message latency, loss, duplication and reordering,
// partitions, crashes that lose unsynced writes (and tear the last one), clock skew and
// drift, and byzantine validators (equivocators, twins, withholders, forgers of garbage
// and bad signatures, replayers, amnesiacs). One seed drives everything, so a run replays
// exactly; the hash of its event trace proves it. The checkers in sim/check judge each run.
package sim
