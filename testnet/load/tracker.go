package load

import (
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// outcome is what a node answered to broadcast_tx_sync.
type outcome int

const (
	accepted  outcome = iota // CheckTx code 0: the node holds it in its mempool
	refused                  // a CheckTx code other than 0, or a mempool error (full, cached, too large)
	sendError                // no answer (timeout, connection lost): the fate is unknown
)

// record is one transaction the generator handed to a node.
type record struct {
	due       time.Time // when the schedule wanted it sent: latency starts here
	outcome   outcome
	answered  bool
	committed time.Time // first event that reported it; zero if none yet
	height    int64     // the height of that event
	code      uint32    // its result code in FinalizeBlock
	twice     bool      // an event reported it at another height too
	done      chan struct{}
}

// second holds what happened in one second of the run.
type second struct {
	offered   int64           // sends due in this second
	committed int64           // our transactions first seen committed in this second
	latencies []time.Duration // their latencies
}

// tracker matches the transactions sent with the commits the nodes' NewBlock events
// report. Every method takes the time as an argument, so the arithmetic is testable without
// a clock.
type tracker struct {
	mu      sync.Mutex
	start   time.Time
	sendEnd time.Time // when the send phase ended (zero while it runs)
	byHash  map[[sha256.Size]byte]*record
	seconds []second
	lat     []time.Duration // every latency, in commit order
	counts  Counts
	height  int64
	reasons map[string]int64 // why sends were refused or failed, and how often
	// advances are when each new highest height was first seen: the stalls between them
	// are what a fault costs the chain.
	advances []time.Time
}

// Counts are the run's totals.
type Counts struct {
	Offered         int64 `json:"offered"`          // sends the schedule (or the closed-loop workers) asked for
	Unsent          int64 `json:"unsent"`           // due sends no worker was free to make (open loop)
	Sent            int64 `json:"sent"`             // broadcast_tx_sync calls made
	Accepted        int64 `json:"accepted"`         // answered with CheckTx code 0
	Refused         int64 `json:"refused"`          // answered with a CheckTx code or a mempool error
	SendErrors      int64 `json:"send_errors"`      // no answer: fate unknown
	Committed       int64 `json:"committed"`        // seen in a NewBlock event (at least once)
	CommittedFailed int64 `json:"committed_failed"` // of which FinalizeBlock gave a non-zero code
	CommittedInSend int64 `json:"committed_in_send_window"`
	NeverCommitted  int64 `json:"never_committed"`    // accepted but not seen committed by the end of the drain
	UnknownLost     int64 `json:"send_errors_unseen"` // send errors never seen committed either
	CommittedTwice  int64 `json:"committed_twice"`    // reported at two different heights
	ForeignTxEvents int64 `json:"foreign_tx_events"`  // committed transactions this run did not send
}

func newTracker(start time.Time) *tracker {
	return &tracker{start: start, byHash: map[[sha256.Size]byte]*record{}}
}

// begin restarts the clock at the start of the send phase: the per-second series and the
// rates count from here.
func (tr *tracker) begin(at time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.start = at
}

// bin returns the second that t falls in, growing the series as needed.
func (tr *tracker) bin(t time.Time) *second {
	i := max(int(t.Sub(tr.start)/time.Second), 0)
	for len(tr.seconds) <= i {
		tr.seconds = append(tr.seconds, second{})
	}
	return &tr.seconds[i]
}

// offer counts a send due at due.
func (tr *tracker) offer(due time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.counts.Offered++
	tr.bin(due).offered++
}

// unsent counts a due send nobody could make.
func (tr *tracker) unsent(due time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.counts.Offered++
	tr.counts.Unsent++
	tr.bin(due).offered++
}

// unsentQueued counts a send that was queued (and offered) but not made: the send phase
// ended first.
func (tr *tracker) unsentQueued() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.counts.Unsent++
}

// sending registers a transaction before it goes out, so that an event that beats the
// broadcast's answer still finds it.
func (tr *tracker) sending(tx []byte, due time.Time) *record {
	r := &record{due: due, done: make(chan struct{})}
	h := sha256.Sum256(tx)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.counts.Sent++
	tr.byHash[h] = r
	return r
}

// answered records the node's answer to the broadcast.
func (tr *tracker) answered(r *record, a answer) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	r.outcome, r.answered = a.outcome, true
	switch a.outcome {
	case accepted:
		tr.counts.Accepted++
	case refused:
		tr.counts.Refused++
	case sendError:
		tr.counts.SendErrors++
	}
	if a.outcome != accepted {
		reason := a.reason
		if len(reason) > 120 {
			reason = reason[:120]
		}
		if tr.reasons == nil {
			tr.reasons = map[string]int64{}
		}
		// Bounded: a flood of distinct messages (each naming a nonce, say) should not
		// grow the report without limit.
		if _, ok := tr.reasons[reason]; ok || len(tr.reasons) < maxListed {
			tr.reasons[reason]++
		}
	}
}

// txEvent records a commit of tx listed in a NewBlock event seen at time at. Every node
// publishes every block, so the same (hash, height) arrives once per observed node; the
// first sighting is the commit time, and a sighting at another height is a second commit.
func (tr *tracker) txEvent(tx []byte, height int64, code uint32, at time.Time) {
	h := sha256.Sum256(tx)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.advance(height, at)
	r, ok := tr.byHash[h]
	switch {
	case !ok:
		tr.counts.ForeignTxEvents++
	case r.committed.IsZero():
		r.committed, r.height, r.code = at, height, code
		l := at.Sub(r.due)
		tr.lat = append(tr.lat, l)
		b := tr.bin(at)
		b.committed++
		b.latencies = append(b.latencies, l)
		tr.counts.Committed++
		if code != 0 {
			tr.counts.CommittedFailed++
		}
		if tr.sendEnd.IsZero() || !at.After(tr.sendEnd) {
			tr.counts.CommittedInSend++
		}
		close(r.done)
	case r.height != height && !r.twice:
		r.twice = true
		tr.counts.CommittedTwice++
	}
}

// newHeight notes a height some node reported at time at.
func (tr *tracker) newHeight(h int64, at time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.advance(h, at)
}

// advance records a height above every one seen so far. Call with mu held.
func (tr *tracker) advance(h int64, at time.Time) {
	if h > tr.height {
		tr.height = h
		tr.advances = append(tr.advances, at)
	}
}

// endSend marks the end of the send phase: commits after it are the drain's.
func (tr *tracker) endSend(at time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.sendEnd.IsZero() {
		tr.sendEnd = at
	}
}

// pending is how many accepted transactions have not been seen committed: the drain waits
// for it to reach zero.
func (tr *tracker) pending() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, r := range tr.byHash {
		if r.answered && r.outcome == accepted && r.committed.IsZero() {
			n++
		}
	}
	return n
}

// snapshot is what the live line shows.
type snapshot struct {
	elapsed            time.Duration
	offered, committed int64 // in the last complete second
	p50, p99           time.Duration
	height             int64
	totals             Counts
}

// live summarizes the run at time now: the last complete second's rates and the
// percentiles of every latency so far.
func (tr *tracker) live(now time.Time) snapshot {
	tr.mu.Lock()
	s := snapshot{elapsed: now.Sub(tr.start), height: tr.height, totals: tr.counts}
	if i := int(now.Sub(tr.start)/time.Second) - 1; i >= 0 && i < len(tr.seconds) {
		s.offered, s.committed = tr.seconds[i].offered, tr.seconds[i].committed
	}
	lat := slices.Clone(tr.lat)
	tr.mu.Unlock()
	slices.Sort(lat)
	s.p50, s.p99 = Percentile(lat, 50), Percentile(lat, 99)
	return s
}
