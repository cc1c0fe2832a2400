package load

import (
	"math"
	"slices"
	"time"
)

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted latencies: the
// smallest value such that at least p% of the values are at or below it. Nearest rank,
// unlike interpolation, always answers a latency that some transaction really had. Empty
// input has no percentile: 0.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Latencies summarizes a set of latencies.
type Latencies struct {
	Count int
	P50   time.Duration
	P90   time.Duration
	P99   time.Duration
	Max   time.Duration
	Mean  time.Duration
}

// Summarize sorts a copy of ls and takes its percentiles.
func Summarize(ls []time.Duration) Latencies {
	if len(ls) == 0 {
		return Latencies{}
	}
	sorted := slices.Clone(ls)
	slices.Sort(sorted)
	var sum time.Duration
	for _, l := range sorted {
		sum += l
	}
	return Latencies{
		Count: len(sorted),
		P50:   Percentile(sorted, 50),
		P90:   Percentile(sorted, 90),
		P99:   Percentile(sorted, 99),
		Max:   sorted[len(sorted)-1],
		Mean:  sum / time.Duration(len(sorted)),
	}
}
