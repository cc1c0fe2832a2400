package sim

import (
	"container/heap"
	"crypto/sha256"
	"fmt"
	"hash"
	"time"
)

// event is one thing that happens at a virtual instant. Events at the same instant run in
// the order they were scheduled (seq), which keeps a run deterministic.
type event struct {
	at   time.Duration // since the start of the run
	seq  uint64
	name string // for the trace
	run  func()
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// scheduler owns virtual time and the trace. Nothing in a run reads the wall clock.
type scheduler struct {
	start  time.Time // the virtual epoch: a fixed instant, the same for every run
	now    time.Duration
	seq    uint64
	queue  eventHeap
	trace  hash.Hash
	events uint64
	log    func(string) // when set, every trace line is also written here
}

func newScheduler(start time.Time) *scheduler {
	return &scheduler{start: start, trace: sha256.New()}
}

// at schedules fn after delay d (never in the past).
func (s *scheduler) after(d time.Duration, name string, fn func()) {
	if d < 0 {
		d = 0
	}
	s.seq++
	heap.Push(&s.queue, &event{at: s.now + d, seq: s.seq, name: name, run: fn})
}

// note adds a line to the trace: everything that matters to a run's outcome is noted, so
// two runs with equal trace hashes did the same thing.
func (s *scheduler) note(format string, args ...any) {
	line := fmt.Sprintf("%d %s\n", s.now.Microseconds(), fmt.Sprintf(format, args...))
	s.trace.Write([]byte(line))
	if s.log != nil {
		s.log(line)
	}
}

// runUntil processes events up to the virtual instant end.
func (s *scheduler) runUntil(end time.Duration) {
	for len(s.queue) > 0 && s.queue[0].at <= end {
		e := heap.Pop(&s.queue).(*event)
		s.now = e.at
		s.events++
		s.note("%s", e.name)
		e.run()
	}
	s.now = end
}

func (s *scheduler) traceHash() [32]byte {
	var out [32]byte
	copy(out[:], s.trace.Sum(nil))
	return out
}
