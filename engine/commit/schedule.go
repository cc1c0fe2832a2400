package commit

import (
	"sort"

	"github.com/tutti-bft/tutti/engine/types"
)

// Schedule says which authors hold leader slots in a round, and in which order. It is a
// function of the round and of the committed history only, so every validator computes the
// same slots. Reputation: every Window committed leaders, authors whose blocks the leaders
// rarely referenced from the round just before are demoted from leader slots (up to f of
// stake) until the next window; their blocks still get ordered inside others' commits.
type Schedule struct {
	committee *types.Committee
	perRound  int
	window    uint64
	segments  []segment // ascending fromRound
	scores    []int64
	observed  uint64
}

type segment struct {
	fromRound uint64
	demoted   []bool
}

// NewSchedule gives perRound leader slots per round (0 or more than n means n) and
// recomputes reputation every window commits (0 disables reputation).
func NewSchedule(c *types.Committee, perRound int, window uint64, startRound uint64) *Schedule {
	if perRound <= 0 || perRound > c.Size() {
		perRound = c.Size()
	}
	return &Schedule{committee: c, perRound: perRound, window: window,
		segments: []segment{{fromRound: startRound, demoted: make([]bool, c.Size())}},
		scores:   make([]int64, c.Size())}
}

func (s *Schedule) segmentFor(round uint64) segment {
	i := sort.Search(len(s.segments), func(i int) bool { return s.segments[i].fromRound > round })
	if i == 0 {
		return s.segments[0]
	}
	return s.segments[i-1]
}

// Leaders returns the leader authors of a round in slot-rank order. The order starts at
// author (round mod n) and wraps, skipping demoted authors, so no author is always first.
func (s *Schedule) Leaders(round uint64) []int {
	seg := s.segmentFor(round)
	n := s.committee.Size()
	out := make([]int, 0, s.perRound)
	start := int(round % uint64(n))
	for i := 0; i < n && len(out) < s.perRound; i++ {
		a := (start + i) % n
		if !seg.demoted[a] {
			out = append(out, a)
		}
	}
	return out
}

// Demoted reports whether the author is out of the leader slots at that round.
func (s *Schedule) Demoted(round uint64, author int) bool { return s.segmentFor(round).demoted[author] }

// Observe feeds one committed leader, in commit order. It returns true when the schedule
// changed for rounds above the leader's: the caller must re-run the decision from there.
func (s *Schedule) Observe(leader *types.Block) bool {
	if s.window == 0 {
		return false
	}
	for _, p := range leader.Parents {
		if p.Round+1 == leader.Round {
			s.scores[p.Author]++
		}
	}
	s.observed++
	if s.observed%s.window != 0 {
		return false
	}
	demoted := s.demote()
	for i := range s.scores {
		s.scores[i] = 0
	}
	last := s.segments[len(s.segments)-1].demoted
	same := true
	for i := range demoted {
		if demoted[i] != last[i] {
			same = false
		}
	}
	if same {
		return false
	}
	s.segments = append(s.segments, segment{fromRound: leader.Round + 1, demoted: demoted})
	return true
}

// demote picks the lowest scorers whose score is under half the best, while the demoted
// stake stays below the validity threshold (at most f): enough honest leaders remain.
func (s *Schedule) demote() []bool {
	n := s.committee.Size()
	order := make([]int, n)
	var best int64
	for i := range order {
		order[i] = i
		if s.scores[i] > best {
			best = s.scores[i]
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return s.scores[order[i]] < s.scores[order[j]] })
	out := make([]bool, n)
	var stake int64
	for _, a := range order {
		if s.scores[a]*2 >= best {
			break
		}
		p := s.committee.Power(a)
		if s.committee.IsValidity(stake + p) {
			break
		}
		stake += p
		out[a] = true
	}
	return out
}

// Prune forgets schedule segments wholly below round (GC).
func (s *Schedule) Prune(round uint64) {
	for len(s.segments) > 1 && s.segments[1].fromRound <= round {
		s.segments = s.segments[1:]
	}
}
