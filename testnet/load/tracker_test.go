package load

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestTrackerReport plays a run through the tracker with chosen times and checks every
// figure of the report: latencies from the due time to the first Tx event, duplicates of
// an event from other nodes ignored, a second height counted as committed twice, refusals,
// send errors, accepted-but-never-committed, commits after the send phase, foreign events,
// the per-second series and the JSON and CSV forms.
func TestTrackerReport(t *testing.T) {
	start := time.Unix(5000, 0)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	tr := newTracker(start)
	send := func(tx string, dueMS int, o outcome) *record {
		tr.offer(at(dueMS))
		r := tr.sending([]byte(tx), at(dueMS))
		tr.answered(r, answer{outcome: o, reason: map[outcome]string{refused: "ledger code 5", sendError: "timeout"}[o]})
		return r
	}
	a := send("a", 0, accepted)
	send("b", 100, accepted)
	send("c", 200, accepted)
	send("d", 1100, accepted) // never committed
	send("e", 1200, refused)
	send("f", 1300, sendError)               // never seen: fate unknown
	send("g", 1400, sendError)               // committed after all
	tr.unsent(at(1500))                      // no worker was free
	tr.txEvent([]byte("a"), 3, 0, at(300))   // 300 ms
	tr.txEvent([]byte("a"), 3, 0, at(350))   // the same commit, from another node
	tr.txEvent([]byte("b"), 3, 0, at(300))   // 200 ms
	tr.txEvent([]byte("c"), 4, 6, at(1250))  // 1050 ms, with a failing code
	tr.txEvent([]byte("c"), 9, 6, at(1900))  // the same transaction at another height
	tr.txEvent([]byte("zz"), 4, 0, at(1250)) // not ours
	tr.endSend(at(2000))
	tr.txEvent([]byte("g"), 5, 0, at(2400)) // 1000 ms, in the drain
	select {
	case <-a.done:
	default:
		t.Fatal("a committed transaction's done channel is still open")
	}
	if n := tr.pending(); n != 1 {
		t.Fatalf("pending %d, want 1 (d)", n)
	}
	rep := tr.report(at(3000), 0)
	want := Counts{Offered: 8, Unsent: 1, Sent: 7, Accepted: 4, Refused: 1, SendErrors: 2, Committed: 4,
		CommittedFailed: 1, CommittedInSend: 3, NeverCommitted: 1, UnknownLost: 1, CommittedTwice: 1, ForeignTxEvents: 1}
	if rep.Counts != want {
		t.Fatalf("counts\n got %+v\nwant %+v", rep.Counts, want)
	}
	if rep.SendSeconds != 2 || rep.DrainSeconds != 1 || rep.OfferedTPS != 4 || rep.CommittedTPS != 1.5 {
		t.Fatalf("send %gs drain %gs offered %g/s committed %g/s; want 2, 1, 4, 1.5",
			rep.SendSeconds, rep.DrainSeconds, rep.OfferedTPS, rep.CommittedTPS)
	}
	ms := time.Millisecond
	if l := rep.Latency; l.Count != 4 || l.P50 != 300*ms || l.P90 != 1050*ms || l.Max != 1050*ms || l.Mean != 637500*time.Microsecond {
		t.Fatalf("latency %+v", l)
	}
	if rep.EndHeight != 9 {
		t.Fatalf("end height %d, want 9", rep.EndHeight)
	}
	if len(rep.NeverCommittedTxs) != 1 || rep.Failures["ledger code 5"] != 1 || rep.Failures["timeout"] != 2 {
		t.Fatalf("never committed %v, failures %v", rep.NeverCommittedTxs, rep.Failures)
	}
	wantSeries := []Second{
		{Second: 0, Offered: 3, Committed: 2, P50ms: 200, P99ms: 300},
		{Second: 1, Offered: 5, Committed: 1, P50ms: 1050, P99ms: 1050},
		{Second: 2, Offered: 0, Committed: 1, P50ms: 1000, P99ms: 1000},
	}
	if len(rep.Series) != len(wantSeries) {
		t.Fatalf("series %+v", rep.Series)
	}
	for i := range wantSeries {
		if rep.Series[i] != wantSeries[i] {
			t.Fatalf("second %d: %+v, want %+v", i, rep.Series[i], wantSeries[i])
		}
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Counts  Counts
		Latency struct {
			P50 float64 `json:"p50_ms"`
			Max float64 `json:"max_ms"`
		}
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Counts != want || back.Latency.P50 != 300 || back.Latency.Max != 1050 {
		t.Fatalf("JSON round trip: %+v\n%s", back, js.String())
	}
	var cs bytes.Buffer
	if err := rep.WriteCSV(&cs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != "second,offered,committed,p50_ms,p99_ms" ||
		strings.Join(rows[2], ",") != "1,5,1,1050.0,1050.0" {
		t.Fatalf("CSV:\n%s", cs.String())
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"never committed  1", "committed twice  1", "p50 300 ms", "refused          1"} {
		if !strings.Contains(text.String(), s) {
			t.Fatalf("summary lacks %q:\n%s", s, text.String())
		}
	}
}

// TestLiveLine: the live line shows the last complete second (the tenth commit, at 1000 ms,
// falls in the next one) and the percentiles so far.
func TestLiveLine(t *testing.T) {
	start := time.Unix(5000, 0)
	tr := newTracker(start)
	for i := range 10 {
		due := start.Add(time.Duration(i) * 100 * time.Millisecond)
		tr.offer(due)
		r := tr.sending([]byte{byte(i)}, due)
		tr.answered(r, answer{outcome: accepted})
		tr.txEvent([]byte{byte(i)}, 7, 0, due.Add(time.Duration(i+1)*10*time.Millisecond))
	}
	s := tr.live(start.Add(1500 * time.Millisecond))
	if s.offered != 10 || s.committed != 9 || s.p50 != 50*time.Millisecond || s.p99 != 100*time.Millisecond || s.height != 7 {
		t.Fatalf("snapshot %+v", s)
	}
	line := liveLine(s, 4*s.elapsed, 3)
	if !strings.Contains(liveLine(s, 0, -1), "peers ?") {
		t.Fatal("a node that did not answer net_info is not shown as unknown")
	}
	for _, want := range []string{"[#####...............]", "peers 3", "offered    10/s", "committed     9/s", "p50 50 ms", "p99 100 ms", "height 7"} {
		if !strings.Contains(line, want) {
			t.Fatalf("live line %q lacks %q", line, want)
		}
	}
}

// TestFaultWindow: with a window from 1 s (a validator killed then, say), the report gives
// the latencies of transactions due from then on only, and the longest time without a new
// height from then to the end of sending, counting the wait for the first height after
// the window opens and the quiet end.
func TestFaultWindow(t *testing.T) {
	start := time.Unix(7000, 0)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	tr := newTracker(start)
	for i, due := range []int{200, 900, 1000, 1500, 2500} {
		tr.offer(at(due))
		r := tr.sending([]byte{byte(i)}, at(due))
		tr.answered(r, answer{outcome: accepted})
	}
	tr.newHeight(1, at(100))
	tr.txEvent([]byte{0}, 2, 0, at(400)) // before the window: 200 ms
	tr.txEvent([]byte{1}, 3, 0, at(950)) // due before the window, committed in it: not counted
	tr.newHeight(3, at(960))             // a height seen again: no advance
	// The window opens at 1000 ms; the chain stalls until 2200 ms (1200 ms).
	tr.txEvent([]byte{2}, 4, 0, at(2200)) // 1200 ms
	tr.txEvent([]byte{3}, 4, 0, at(2200)) // 700 ms
	tr.newHeight(5, at(2600))
	tr.txEvent([]byte{4}, 6, 0, at(2900)) // 400 ms
	tr.endSend(at(4500))                  // quiet from 2900 to 4500: 1600 ms, the longest
	tr.newHeight(7, at(4800))             // in the drain: outside the window
	rep := tr.report(at(5000), time.Second)
	w := rep.Window
	if w == nil {
		t.Fatal("no window in the report")
	}
	if w.From != 1 || w.Committed != 3 || w.Latency.P50 != 700*time.Millisecond || w.Latency.Max != 1200*time.Millisecond {
		t.Fatalf("window from %g s: %d committed, p50 %v max %v; want 1 s, 3, 700ms, 1.2s", w.From, w.Committed, w.Latency.P50, w.Latency.Max)
	}
	if w.LongestStall != 1600*time.Millisecond || w.StallMS != 1600 {
		t.Fatalf("longest stall %v (%g ms), want 1.6s", w.LongestStall, w.StallMS)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "longest stall 1600 ms") {
		t.Fatalf("summary without the window line (%v):\n%s", err, text.String())
	}
	if rep := tr.report(at(5000), 0); rep.Window != nil {
		t.Fatal("a window nobody asked for")
	}
	// A chain stalled through the whole window: the stall is all of it.
	tr2 := newTracker(start)
	tr2.newHeight(1, at(100))
	tr2.endSend(at(3000))
	if w := tr2.report(at(3000), time.Second).Window; w.LongestStall != 2*time.Second {
		t.Fatalf("stalled window: longest stall %v, want 2s", w.LongestStall)
	}
}
