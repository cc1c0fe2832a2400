package commit

import (
	"testing"

	"github.com/tutti-bft/tutti/engine/dag"
)

// TestWeakQuorumCommitsOnTwoCertificates: the planted "2f instead of 2f+1" bug the
// simulator's checkers must catch. Only A3 and B3 certify round 1's leaders: 2 of 4 is
// no quorum, so the real rule waits; the weakened committee commits.
func TestWeakQuorumCommitsOnTwoCertificates(t *testing.T) {
	for _, weak := range []bool{false, true} {
		td, err := dag.NewTextDAG([]int64{1, 1, 1, 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{"round 1: *", "round 2: *", "round 3: A, B"} {
			if err := td.Line(l); err != nil {
				t.Fatal(err)
			}
		}
		c := td.DAG.Committee()
		if weak {
			c = c.WithWeakQuorum()
		}
		decisions, stop, err := New(td.DAG, c, NewSchedule(c, 0, 0, 0)).TryDecide()
		if err != nil {
			t.Fatal(err)
		}
		if weak && (len(decisions) != 4 || decisions[0].Kind != Commit) {
			t.Fatalf("weak quorum: want round 1 committed, got %d decisions", len(decisions))
		}
		if !weak && (len(decisions) != 0 || stop == nil || stop.Round != 1) {
			t.Fatalf("real quorum: want round 1 undecided, got %d decisions, stop %v", len(decisions), stop)
		}
	}
}
