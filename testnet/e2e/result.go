package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Failed says whether a checker found a violation.
func (r *Result) Failed() bool { return len(r.Violations) > 0 }

// Properties are the violated properties, each once, in order (S1, S5, ...).
func (r *Result) Properties() []string {
	var out []string
	for _, v := range r.Violations {
		if !slices.Contains(out, v.Property) {
			out = append(out, v.Property)
		}
	}
	slices.Sort(out)
	return out
}

// WriteText prints the figures and the verdict.
func (r *Result) WriteText(w io.Writer) error {
	var faults []string
	for _, a := range sortedKeys(r.Faults) {
		faults = append(faults, fmt.Sprintf("%d %s", r.Faults[a], a))
	}
	var heights []string
	for _, n := range sortedKeys(r.Heights) {
		heights = append(heights, fmt.Sprintf("%s %d", n, r.Heights[n]))
	}
	fmt.Fprintf(w, "e2e %s: %v\n", r.Name, r.Elapsed.Round(time.Second))
	fmt.Fprintf(w, "  heights        %s\n", strings.Join(heights, ", "))
	if len(r.Unchecked) > 0 {
		fmt.Fprintf(w, "  not checked    %s (down or paused at the end)\n", strings.Join(r.Unchecked, ", "))
	}
	fmt.Fprintf(w, "  faults         %s; %d liveness checks after heals\n", orNone(strings.Join(faults, ", ")), r.Heals)
	fmt.Fprintf(w, "  transactions   %d committed", r.Committed)
	if l := r.Load; l != nil {
		fmt.Fprintf(w, "; load: %d accepted, %d refused, %d send errors, p50 %v, p99 %v",
			l.Counts.Accepted, l.Counts.Refused, l.Counts.SendErrors, l.Latency.P50.Round(time.Millisecond), l.Latency.P99.Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	if r.Equivocations > 0 {
		fmt.Fprintf(w, "  equivocations  %d logged by an honest node\n", r.Equivocations)
	}
	if r.Supply > 0 {
		fmt.Fprintf(w, "  ledger supply  %d\n", r.Supply)
	}
	if !r.Failed() {
		_, err := fmt.Fprintf(w, "  violations     0: PASS\n")
		return err
	}
	fmt.Fprintf(w, "  violations     %d of %s: FAIL\n", len(r.Violations), strings.Join(r.Properties(), ", "))
	for _, v := range r.Violations {
		fmt.Fprintf(w, "    %s\n", v)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// WriteJSON writes the result (with the load report) as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
