package commit

import (
	"fmt"
	"testing"

	"github.com/tutti-bft/tutti/engine/dag"
)

// BenchmarkCommitRulePerRound measures the decision work per new round with every
// validator a leader (L = n): each op adds one full round (untimed) and runs TryDecide and
// Advance (timed). Vote and certificate caches keep this from being O(L n^2) per round.
func BenchmarkCommitRulePerRound(b *testing.B) {
	for _, n := range []int{4, 10, 20} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			powers := make([]int64, n)
			for i := range powers {
				powers[i] = 1
			}
			td, err := dag.NewTextDAG(powers)
			if err != nil {
				b.Fatal(err)
			}
			c := New(td.DAG, td.DAG.Committee(), NewSchedule(td.DAG.Committee(), 0, 0, 0))
			decided := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				b.StopTimer()
				if err := td.Line(fmt.Sprintf("round %d: *", i)); err != nil {
					b.Fatal(err)
				}
				if i > 10 && i%10 == 0 {
					td.DAG.SetGCRound(uint64(i - 10))
					c.Prune(uint64(i - 10))
				}
				b.StartTimer()
				ds, _, err := c.TryDecide()
				if err != nil {
					b.Fatal(err)
				}
				for _, d := range ds {
					c.Advance(d.Slot)
				}
				decided += len(ds)
			}
			if b.N > 3 && decided < (b.N-2)*n {
				b.Fatalf("decided %d slots in %d rounds", decided, b.N)
			}
		})
	}
}
