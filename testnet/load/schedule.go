package load

import (
	"math"
	"time"
)

// schedule is the open loop's timetable: send i is due at start + i/rate, for every i whose
// time falls before end. The times come from the index alone, never from when the previous
// send happened, so a slow system cannot slow the schedule down; and each send's latency is
// measured from its due time, so time a send spent waiting for a free worker counts against
// the system (no coordinated omission).
type schedule struct {
	start time.Time
	rate  float64 // sends per second
	total int64   // sends due before end
	next  int64   // the first send not yet handed out
}

func newSchedule(start time.Time, rate float64, d time.Duration) *schedule {
	return &schedule{start: start, rate: rate, total: int64(math.Ceil(d.Seconds()*rate - 1e-9))}
}

// at is send i's due time.
func (s *schedule) at(i int64) time.Time {
	return s.start.Add(time.Duration(math.Round(float64(i) * float64(time.Second) / s.rate)))
}

// due hands out every send due by now that was not handed out yet: [from, to). A tick that
// comes late (the host was busy) hands out all the sends it missed, each with its own time.
func (s *schedule) due(now time.Time) (from, to int64) {
	from = s.next
	if now.Before(s.start) {
		return from, from
	}
	to = int64(now.Sub(s.start).Seconds()*s.rate) + 1
	to = min(max(to, from), s.total)
	s.next = to
	return from, to
}

// done says every send has been handed out.
func (s *schedule) done() bool { return s.next >= s.total }

// job is one transaction to send: its sequence number and when it is due.
type job struct {
	seq int64
	due time.Time
}

// runSchedule drives s from ticks until every send is handed out or stop closes. Each due
// send goes to jobs without blocking and is counted by queued; if every worker is busy and
// the queue is full, it is counted by missed instead (the generator could not offer it)
// rather than delayed, so the offered rate stays what was asked, and the report says how
// much of it went unsent.
func runSchedule(s *schedule, ticks <-chan time.Time, stop <-chan struct{}, jobs chan<- job, queued, missed func(job)) {
	for !s.done() {
		var now time.Time
		select {
		case now = <-ticks:
		case <-stop:
			return
		}
		from, to := s.due(now)
		for i := from; i < to; i++ {
			j := job{seq: i, due: s.at(i)}
			select {
			case jobs <- j:
				queued(j)
			default:
				missed(j)
			}
		}
	}
}
