package order

import "github.com/tutti-bft/tutti/engine/types"

// DefaultInfractionRounds is how many rounds of heights the cut remembers when its config
// does not say: what the core sets for production's GC depth of 60.
const DefaultInfractionRounds = 180

// closedHeight is one delivered height with the last leader it ordered.
type closedHeight struct {
	height int64
	timeMs int64
	epoch  uint64
	round  uint64 // the round of its last commit's leader
}

// remember records a closed height and forgets those more than InfractionRounds below its
// leader, older than any evidence that can still be ordered.
func (c *Cutter) remember(height, timeMs int64, leader *types.Block) {
	c.closed = append(c.closed, closedHeight{height: height, timeMs: timeMs, epoch: leader.Epoch, round: leader.Round})
	keep := c.cfg.InfractionRounds
	if keep == 0 {
		keep = DefaultInfractionRounds
	}
	drop := 0
	for drop < len(c.closed)-1 && c.closed[drop].round+keep < leader.Round {
		drop++
	}
	if drop > 0 {
		c.closed = append([]closedHeight(nil), c.closed[drop:]...)
	}
}

// infraction dates an equivocation in round r of epoch e as CometBFT dates a double sign:
// by the height in which it happened, here the first height whose commits reached round r
// (the height that ordered, or would have ordered, that round's blocks), and its time.
// The SDK's evidence module measures its age from there, and slashing finds the stake
// bonded then. Heights are remembered as far back as evidence can be accepted; the oldest
// remembered stands in for anything older.
func (c *Cutter) infraction(e, r uint64) (height, timeMs int64) {
	for _, h := range c.closed {
		if h.epoch > e || (h.epoch == e && h.round >= r) {
			return h.height, h.timeMs
		}
	}
	last := c.closed[len(c.closed)-1] // close remembers the height before dating its evidence
	return last.height, last.timeMs
}
