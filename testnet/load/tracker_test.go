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
	rep := tr.report(at(3000))
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
	line := liveLine(s)
	for _, want := range []string{"offered    10/s", "committed     9/s", "p50 50 ms", "p99 100 ms", "height 7"} {
		if !strings.Contains(line, want) {
			t.Fatalf("live line %q lacks %q", line, want)
		}
	}
}
