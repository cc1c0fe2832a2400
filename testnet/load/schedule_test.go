package load

import (
	"testing"
	"time"
)

// TestScheduleKeepsDueTimesThroughStalls drives the open loop with ticks that arrive late
// (the host stalled for a second, then 300 ms): every send still gets its own due time
// start + i/rate, none is skipped or shifted, the count is rate × duration, and nothing is
// due after the end.
func TestScheduleKeepsDueTimesThroughStalls(t *testing.T) {
	start := time.Unix(1000, 0)
	s := newSchedule(start, 100, 3*time.Second)
	if s.total != 300 {
		t.Fatalf("total %d, want 300", s.total)
	}
	ticks := make(chan time.Time, 16)
	for _, at := range []time.Duration{0, 5 * time.Millisecond, 1100 * time.Millisecond, 1105 * time.Millisecond,
		1405 * time.Millisecond, 2 * time.Second, 5 * time.Second} {
		ticks <- start.Add(at)
	}
	jobs := make(chan job, 1000)
	var missed int
	runSchedule(s, ticks, nil, jobs, func(job) {}, func(job) { missed++ })
	close(jobs)
	var got []job
	for j := range jobs {
		got = append(got, j)
	}
	if missed != 0 || len(got) != 300 {
		t.Fatalf("%d sends queued, %d missed; want 300 and 0", len(got), missed)
	}
	for i, j := range got {
		want := start.Add(time.Duration(i) * 10 * time.Millisecond)
		if j.seq != int64(i) || !j.due.Equal(want) {
			t.Fatalf("send %d: seq %d due %v, want due %v", i, j.seq, j.due.Sub(start), want.Sub(start))
		}
		if !j.due.Before(start.Add(3 * time.Second)) {
			t.Fatalf("send %d due at %v, after the end", i, j.due.Sub(start))
		}
	}
}

// TestScheduleHandsOutOnlyWhatIsDue: a tick hands out the sends due by then, including the
// one due exactly at the tick, and nothing before the start.
func TestScheduleHandsOutOnlyWhatIsDue(t *testing.T) {
	start := time.Unix(1000, 0)
	s := newSchedule(start, 4, 10*time.Second) // one every 250 ms
	if from, to := s.due(start.Add(-time.Second)); from != to {
		t.Fatalf("before the start: [%d,%d)", from, to)
	}
	if from, to := s.due(start); from != 0 || to != 1 {
		t.Fatalf("at the start: [%d,%d), want [0,1)", from, to)
	}
	if from, to := s.due(start.Add(749 * time.Millisecond)); from != 1 || to != 3 {
		t.Fatalf("at 749 ms: [%d,%d), want [1,3)", from, to)
	}
	if from, to := s.due(start.Add(750 * time.Millisecond)); from != 3 || to != 4 {
		t.Fatalf("at 750 ms: [%d,%d), want [3,4)", from, to)
	}
	if from, to := s.due(start.Add(time.Hour)); from != 4 || to != 40 || !s.done() {
		t.Fatalf("long after the end: [%d,%d) done %v, want [4,40) done", from, to, s.done())
	}
}

// TestScheduleCountsWhatNoWorkerTook: when the queue is full (every worker stuck), due sends
// are counted as missed, not delayed: the schedule does not slow down.
func TestScheduleCountsWhatNoWorkerTook(t *testing.T) {
	start := time.Unix(1000, 0)
	s := newSchedule(start, 1000, time.Second)
	ticks := make(chan time.Time, 1)
	ticks <- start.Add(2 * time.Second)
	jobs := make(chan job, 100)
	var queued, missed int
	runSchedule(s, ticks, nil, jobs, func(job) { queued++ }, func(job) { missed++ })
	if queued != 100 || missed != 900 {
		t.Fatalf("queued %d, missed %d; want 100 and 900", queued, missed)
	}
}

// TestScheduleStops: closing stop ends the loop before the schedule is done.
func TestScheduleStops(t *testing.T) {
	s := newSchedule(time.Unix(1000, 0), 10, time.Hour)
	stop := make(chan struct{})
	close(stop)
	done := make(chan struct{})
	go func() {
		runSchedule(s, make(chan time.Time), stop, make(chan job, 1), func(job) {}, func(job) {})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("runSchedule did not return after stop closed")
	}
}
