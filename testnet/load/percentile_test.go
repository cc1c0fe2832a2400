package load

import (
	"testing"
	"time"
)

func msList(vals ...int) []time.Duration {
	out := make([]time.Duration, len(vals))
	for i, v := range vals {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

// TestPercentileNearestRank: the p-th percentile is the smallest value with at least p% of
// the values at or below it, and always one of the values.
func TestPercentileNearestRank(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, c := range []struct {
		vals []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{msList(7), 50, 7 * time.Millisecond},
		{msList(7), 99, 7 * time.Millisecond},
		{msList(1, 2), 50, 1 * time.Millisecond},
		{msList(1, 2), 51, 2 * time.Millisecond},
		{msList(10, 20, 30, 40), 75, 30 * time.Millisecond},
		{msList(10, 20, 30, 40), 76, 40 * time.Millisecond},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 90, 90 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 99.5, 100 * time.Millisecond},
		{hundred, 100, 100 * time.Millisecond},
		{hundred, 0.1, 1 * time.Millisecond},
	} {
		if got := Percentile(c.vals, c.p); got != c.want {
			t.Errorf("p%g of %d values: got %v, want %v", c.p, len(c.vals), got, c.want)
		}
	}
}

// TestSummarizeSortsACopy: Summarize gives percentiles, max and mean of unsorted input and
// leaves the input as it was.
func TestSummarizeSortsACopy(t *testing.T) {
	in := msList(50, 10, 40, 20, 30)
	s := Summarize(in)
	want := Latencies{Count: 5, P50: 30 * time.Millisecond, P90: 50 * time.Millisecond, P99: 50 * time.Millisecond,
		Max: 50 * time.Millisecond, Mean: 30 * time.Millisecond}
	if s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
	if in[0] != 50*time.Millisecond || in[1] != 10*time.Millisecond {
		t.Fatal("Summarize reordered its input")
	}
	if (Summarize(nil) != Latencies{}) {
		t.Fatal("no latencies should summarize to zeros")
	}
}
