package load

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// liveLine is the progress line: a bar of the send phase (of total), elapsed time, the
// last second's offered and committed transactions, the latency percentiles so far, the
// highest height seen and the first endpoint's peer count (negative: it did not answer).
// Past the send phase (the drain) the bar is full.
func liveLine(s snapshot, total time.Duration, peers int) string {
	const width = 20
	done := width
	if total > 0 && s.elapsed < total {
		done = int(width * s.elapsed / total)
	}
	bar := strings.Repeat("#", done) + strings.Repeat(".", width-done)
	peerText := "?"
	if peers >= 0 {
		peerText = fmt.Sprint(peers)
	}
	return fmt.Sprintf("[%s] %4.0fs  offered %5d/s  committed %5d/s  p50 %s  p99 %s  height %d  peers %s  | sent %d committed %d refused %d",
		bar, s.elapsed.Seconds(), s.offered, s.committed, fmtMS(s.p50), fmtMS(s.p99), s.height, peerText,
		s.totals.Sent, s.totals.Committed, s.totals.Refused)
}

// showProgress prints the live line every second until stop closes. On a terminal it
// rewrites one line; into a file or pipe it writes a line per second, which a log keeps.
func showProgress(w io.Writer, tty bool, tr *tracker, total time.Duration, peers func() int, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			line := liveLine(tr.live(now), total, peers())
			if tty {
				fmt.Fprintf(w, "\r\x1b[K%s", line)
			} else {
				fmt.Fprintln(w, line)
			}
		case <-stop:
			if tty {
				fmt.Fprintln(w)
			}
			return
		}
	}
}
