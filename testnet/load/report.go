package load

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Report is the result of a run. Rates are per second of the send phase; latencies run
// from each transaction's due time to the first NewBlock event reporting it.
type Report struct {
	App       string   `json:"app"`
	Mode      string   `json:"mode"` // "open" or "closed"
	Endpoints []string `json:"endpoints"`
	// Observed is how many endpoints, the first ones, had their NewBlock events watched:
	// commits and second commits are those these nodes reported.
	Observed     int       `json:"observed"`
	TargetRate   float64   `json:"target_rate,omitempty"`
	Concurrency  int       `json:"concurrency"`
	TxBytes      int       `json:"tx_bytes,omitempty"`
	SendSeconds  float64   `json:"send_seconds"`
	DrainSeconds float64   `json:"drain_seconds"`
	Interrupted  bool      `json:"interrupted"`
	OfferedTPS   float64   `json:"offered_tps"`
	CommittedTPS float64   `json:"committed_tps"` // committed within the send phase, per second of it
	Counts       Counts    `json:"counts"`
	Latency      Latencies `json:"latency"`
	StartHeight  int64     `json:"start_height"`
	EndHeight    int64     `json:"end_height"`
	Series       []Second  `json:"series"`
	// NeverCommittedTxs lists (up to maxListed) hashes of accepted transactions never seen
	// committed, to look them up on the nodes.
	NeverCommittedTxs []string `json:"never_committed_txs,omitempty"`
	// Failures counts the refusals and send errors by reason (the first maxListed reasons).
	Failures map[string]int64 `json:"failures,omitempty"`
	// Window, when asked for (Config.WindowFrom), describes the run from a moment on:
	// a fault injected then, say.
	Window *Window `json:"window,omitempty"`
	// Accepted holds the SHA-256 of every transaction a node accepted, for checkers that
	// look for each one in the nodes' blocks (the end-to-end runner's S4).
	Accepted [][sha256.Size]byte `json:"-"`
}

// Window is the part of a run from From seconds after the start of sending to its end.
type Window struct {
	From      float64   `json:"from_seconds"`
	Committed int64     `json:"committed"` // transactions due in the window, committed
	Latency   Latencies `json:"latency"`   // theirs
	// LongestStall is the longest time in the window without a new height: from its
	// start to the first new height, between two, or from the last to the end of sending.
	LongestStall time.Duration `json:"-"`
	StallMS      float64       `json:"longest_stall_ms"`
}

// window summarizes the run from start+from to the end of sending. Call with mu held.
func (tr *tracker) window(from time.Duration, sendEnd time.Time) *Window {
	begin := tr.start.Add(from)
	w := &Window{From: from.Seconds()}
	var lat []time.Duration
	for _, rec := range tr.byHash {
		if !rec.committed.IsZero() && !rec.due.Before(begin) {
			lat = append(lat, rec.committed.Sub(rec.due))
		}
	}
	w.Committed, w.Latency = int64(len(lat)), Summarize(lat)
	prev := begin
	for _, t := range tr.advances {
		if t.Before(begin) {
			continue
		}
		if t.After(sendEnd) {
			break
		}
		w.LongestStall = max(w.LongestStall, t.Sub(prev))
		prev = t
	}
	w.LongestStall = max(w.LongestStall, sendEnd.Sub(prev))
	w.StallMS = ms(w.LongestStall)
	return w
}

// maxListed bounds the hashes a report lists.
const maxListed = 20

// Second is one point of the per-second series.
type Second struct {
	Second    int     `json:"second"`
	Offered   int64   `json:"offered"`
	Committed int64   `json:"committed"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
}

// report builds the report from the tracker at the end of the run.
func (tr *tracker) report(end time.Time, windowFrom time.Duration) *Report {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	sendEnd := tr.sendEnd
	if sendEnd.IsZero() {
		sendEnd = end
	}
	r := &Report{Counts: tr.counts, EndHeight: tr.height, Latency: Summarize(tr.lat), Failures: maps.Clone(tr.reasons)}
	window := sendEnd.Sub(tr.start).Seconds()
	r.SendSeconds, r.DrainSeconds = window, end.Sub(sendEnd).Seconds()
	if window > 0 {
		r.OfferedTPS = float64(tr.counts.Offered) / window
		r.CommittedTPS = float64(tr.counts.CommittedInSend) / window
	}
	for h, rec := range tr.byHash {
		if rec.answered && rec.outcome == accepted {
			r.Accepted = append(r.Accepted, h)
		}
		if rec.committed.IsZero() && rec.answered {
			switch rec.outcome {
			case accepted:
				r.Counts.NeverCommitted++
				if len(r.NeverCommittedTxs) < maxListed {
					r.NeverCommittedTxs = append(r.NeverCommittedTxs, fmt.Sprintf("%X", h))
				}
			case sendError:
				r.Counts.UnknownLost++
			}
		}
	}
	if windowFrom > 0 {
		r.Window = tr.window(windowFrom, sendEnd)
	}
	for i, s := range tr.seconds {
		l := Summarize(s.latencies)
		r.Series = append(r.Series, Second{Second: i, Offered: s.offered, Committed: s.committed, P50ms: ms(l.P50), P99ms: ms(l.P99)})
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// MarshalJSON writes latencies in milliseconds, the unit people read them in.
func (l Latencies) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Count int     `json:"count"`
		P50   float64 `json:"p50_ms"`
		P90   float64 `json:"p90_ms"`
		P99   float64 `json:"p99_ms"`
		Max   float64 `json:"max_ms"`
		Mean  float64 `json:"mean_ms"`
	}{l.Count, ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max), ms(l.Mean)})
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteCSV writes the per-second series: second, offered, committed, p50_ms, p99_ms.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"second", "offered", "committed", "p50_ms", "p99_ms"})
	for _, s := range r.Series {
		_ = cw.Write([]string{strconv.Itoa(s.Second), strconv.FormatInt(s.Offered, 10), strconv.FormatInt(s.Committed, 10),
			strconv.FormatFloat(s.P50ms, 'f', 1, 64), strconv.FormatFloat(s.P99ms, 'f', 1, 64)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteText writes the human summary.
func (r *Report) WriteText(w io.Writer) error {
	c := r.Counts
	mode := fmt.Sprintf("open loop at %g tx/s", r.TargetRate)
	if r.Mode == "closed" {
		mode = fmt.Sprintf("closed loop with %d workers", r.Concurrency)
	}
	stopped := ""
	if r.Interrupted {
		stopped = ", interrupted"
	}
	_, err := fmt.Fprintf(w, `load summary: %s transactions, %s, %d endpoint(s) (%d observed), %.1f s of sending + %.1f s of drain%s
  offered          %d (%.1f tx/s); sent %d, unsent %d (no free worker)
  committed        %d in the send phase (%.1f tx/s); %d in all, %d of them with a failing result code
  latency          p50 %s  p90 %s  p99 %s  max %s  (mean %s; due time to first commit event)
  refused          %d (CheckTx code or mempool error)
  send errors      %d (no answer), %d of them never seen committed
  never committed  %d (accepted, not seen committed by the end of the drain)
  committed twice  %d (seen at two heights)
  heights          %d -> %d
`, r.App, mode, len(r.Endpoints), r.Observed, r.SendSeconds, r.DrainSeconds, stopped,
		c.Offered, r.OfferedTPS, c.Sent, c.Unsent,
		c.CommittedInSend, r.CommittedTPS, c.Committed, c.CommittedFailed,
		fmtMS(r.Latency.P50), fmtMS(r.Latency.P90), fmtMS(r.Latency.P99), fmtMS(r.Latency.Max), fmtMS(r.Latency.Mean),
		c.Refused, c.SendErrors, c.UnknownLost, c.NeverCommitted, c.CommittedTwice, r.StartHeight, r.EndHeight)
	if err != nil {
		return err
	}
	if win := r.Window; win != nil {
		if _, err := fmt.Fprintf(w, "  from %.1f s       %d committed: p50 %s  p99 %s  max %s; longest stall %s\n",
			win.From, win.Committed, fmtMS(win.Latency.P50), fmtMS(win.Latency.P99), fmtMS(win.Latency.Max), fmtMS(win.LongestStall)); err != nil {
			return err
		}
	}
	for _, reason := range slices.Sorted(maps.Keys(r.Failures)) {
		if _, err := fmt.Fprintf(w, "    %6d × %s\n", r.Failures[reason], reason); err != nil {
			return err
		}
	}
	for _, h := range r.NeverCommittedTxs {
		if _, err := fmt.Fprintf(w, "    never committed: %s\n", h); err != nil {
			return err
		}
	}
	return nil
}

func fmtMS(d time.Duration) string { return strconv.FormatFloat(ms(d), 'f', 0, 64) + " ms" }
