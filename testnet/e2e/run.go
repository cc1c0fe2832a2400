package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/tutti-bft/tutti/engine/sim/check"
	"github.com/tutti-bft/tutti/testnet/load"
)

// Options are where and how a manifest runs.
type Options struct {
	Bin          string    // the tutti binary
	Dir          string    // the homes and logs go here (replaced if an earlier run made it)
	StartingPort int       // the port search starts here
	Out          io.Writer // the story of the run, one line per event
}

// Result is what a run found.
type Result struct {
	Name      string           `json:"name"`
	Heights   map[string]int64 `json:"heights"` // each checked node's last height
	Unchecked []string         `json:"unchecked,omitempty"`
	Faults    map[string]int   `json:"faults"` // perturbations applied, by action
	Heals     int              `json:"heals"`  // liveness checks after a heal
	Committed int              `json:"committed_txs"`
	Load      *load.Report     `json:"load,omitempty"`
	Supply    uint64           `json:"ledger_supply,omitempty"`
	// Equivocations: the most any honest node logged (twins sign two blocks per round).
	Equivocations int               `json:"equivocations_logged"`
	Violations    []check.Violation `json:"violations"`
	Elapsed       time.Duration     `json:"elapsed_ns"`
}

// step is one moment of the timeline: a perturbation or its undoing.
type step struct {
	at   time.Duration
	p    Perturb
	undo bool
}

// runner holds a run's state.
type runner struct {
	m       *Manifest
	n       *network
	out     io.Writer
	start   time.Time
	res     *Result
	before  []snapshot // a node's head before it was killed, restarted or truncated (S3)
	partial []string   // faults still in force at the end
}

// snapshot is one node's head at a moment.
type snapshot struct {
	node   string
	height int64
	hash   []byte
}

// Run runs the manifest and returns what the checkers found; an error means the run itself
// could not be carried out (a node would not start, a port was taken), not a violation.
func Run(ctx context.Context, name string, m *Manifest, opt Options) (*Result, error) {
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	if opt.StartingPort == 0 {
		opt.StartingPort = 30000
	}
	n, err := setUp(ctx, m, opt.Bin, opt.Dir, opt.StartingPort)
	if err != nil {
		return nil, err
	}
	r := &runner{m: m, n: n, out: opt.Out, res: &Result{Name: name, Faults: map[string]int{}, Heights: map[string]int64{}}}
	runErr := r.run(ctx)
	if err := n.tearDown(); err != nil {
		r.logf("stopping: %v", err)
	}
	r.res.Elapsed = time.Since(r.start)
	if runErr != nil {
		return r.res, runErr
	}
	return r.res, nil
}

func (r *runner) logf(format string, args ...any) {
	at := time.Duration(0)
	if !r.start.IsZero() {
		at = time.Since(r.start).Round(100 * time.Millisecond)
	}
	fmt.Fprintf(r.out, "e2e %7s  %s\n", at, fmt.Sprintf(format, args...))
}

func (r *runner) run(ctx context.Context) error {
	steps := r.timeline()
	// Partitions and delays due at 0 are in place before any node starts, so that no
	// message crosses a link the scenario never lets up (twins on two sides, say).
	for len(steps) > 0 && steps[0].at == 0 && !steps[0].undo && (steps[0].p.Action == "partition" || steps[0].p.Action == "delay") {
		if err := r.apply(ctx, steps[0]); err != nil {
			return err
		}
		steps = steps[1:]
	}
	for _, name := range r.n.names {
		if err := r.n.start(name); err != nil {
			return err
		}
	}
	if err := r.waitStarted(ctx, 60*time.Second); err != nil {
		return err
	}
	r.start = time.Now()
	r.logf("%d nodes up (%s), app %s; load %g tx/s to %s for %v", len(r.n.names), strings.Join(r.n.names, " "),
		r.m.App, r.m.Load.Rate, strings.Join(r.m.Load.Nodes, " "), r.m.Duration.D())

	loadDone := make(chan error, 1)
	if r.m.Load.Rate > 0 {
		go func() {
			rep, err := load.Run(ctx, r.loadConfig())
			r.res.Load = rep
			loadDone <- err
		}()
	} else {
		close(loadDone)
	}
	for _, s := range steps {
		if err := sleepUntil(ctx, r.start.Add(s.at)); err != nil {
			return err
		}
		if err := r.apply(ctx, s); err != nil {
			return err
		}
	}
	if err := sleepUntil(ctx, r.start.Add(r.m.Duration.D())); err != nil {
		return err
	}
	if err := <-loadDone; err != nil {
		return fmt.Errorf("e2e: load: %w", err)
	}
	if rep := r.res.Load; rep != nil {
		r.logf("load done: %d accepted, %d committed (%.1f tx/s), p50 %v p99 %v", rep.Counts.Accepted, rep.Counts.Committed,
			rep.CommittedTPS, rep.Latency.P50.Round(time.Millisecond), rep.Latency.P99.Round(time.Millisecond))
	}
	if len(r.partial) > 0 {
		r.logf("still in force at the end: %s", strings.Join(r.partial, "; "))
	}
	return r.check(ctx)
}

// timeline lists every perturbation and, for those with a duration, its undoing, in time
// order.
func (r *runner) timeline() []step {
	var steps []step
	for _, p := range r.m.sorted() {
		steps = append(steps, step{at: p.At.D(), p: p})
		if p.For > 0 {
			steps = append(steps, step{at: p.At.D() + p.For.D(), p: p, undo: true})
		}
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	return steps
}

func (r *runner) loadConfig() load.Config {
	cfg := load.Config{Rate: r.m.Load.Rate, Duration: r.m.Duration.D(), Drain: r.m.Load.Drain.D(), App: "kvstore"}
	for _, n := range r.m.Load.Nodes {
		cfg.Endpoints = append(cfg.Endpoints, r.n.rpc(n))
	}
	if r.m.App == "ledger" {
		cfg.App, cfg.LedgerAccounts = "ledger", r.m.Load.Accounts
	}
	return cfg
}

// apply carries out one step; after each undoing and after a node is back from a
// restart, it checks liveness (L1).
func (r *runner) apply(ctx context.Context, s step) error {
	p := s.p
	i := r.n.index[p.Node]
	what := p.Action + " " + p.Node
	if p.Action == "partition" {
		what = "partition " + fmt.Sprint(p.Groups)
	}
	if !s.undo {
		r.res.Faults[p.Action]++
	}
	switch {
	case !s.undo && (p.Action == "kill" || p.Action == "truncate" || p.Action == "restart"):
		r.remember(ctx, p.Node)
		if p.Action == "restart" {
			if err := r.n.net.Stop(i, 15*time.Second); err != nil {
				r.logf("%s: %v", what, err)
			}
		} else {
			r.n.net.Kill(i)
		}
		r.logf("%s (was at height %d)", what, r.before[len(r.before)-1].height)
		if p.Action == "kill" {
			if p.For == 0 {
				r.partial = append(r.partial, what)
			}
			return nil
		}
		if p.Action == "truncate" {
			cut, err := r.n.net.TruncateJournal(i, p.Bytes)
			if err != nil {
				return fmt.Errorf("e2e: truncate %s: %w", p.Node, err)
			}
			r.logf("cut %d bytes off %s's journal", cut, p.Node)
		}
		if err := r.n.start(p.Node); err != nil {
			return err
		}
		return r.liveness(ctx, "after "+what)
	case p.Action == "kill":
		if err := r.n.start(p.Node); err != nil {
			return err
		}
		r.logf("start %s again", p.Node)
		return r.liveness(ctx, "after "+what+" and restart")
	case p.Action == "pause":
		if !s.undo {
			r.logf("%s", what)
			if p.For == 0 {
				r.partial = append(r.partial, what)
			}
			return r.n.net.Pause(i)
		}
		if err := r.n.net.Resume(i); err != nil {
			return err
		}
		r.logf("resume %s", p.Node)
		return r.liveness(ctx, "after "+what+" and resume")
	case p.Action == "partition":
		if !s.undo {
			r.n.links.partition(p.Groups)
			r.logf("%s", what)
			if p.For == 0 {
				r.partial = append(r.partial, what)
			}
			return nil
		}
		r.n.links.heal()
		r.logf("heal the partition")
		return r.liveness(ctx, "after "+what+" healed")
	case p.Action == "delay":
		if !s.undo {
			r.n.links.setDelay(p.Node, p.Delay.D())
			r.logf("delay %s's links by %v each way", p.Node, p.Delay.D())
			if p.For == 0 {
				r.partial = append(r.partial, what)
			}
			return nil
		}
		r.n.links.setDelay(p.Node, 0)
		r.logf("remove %s's delay", p.Node)
		return r.liveness(ctx, "after "+what+" removed")
	}
	return fmt.Errorf("e2e: no way to %s", what)
}

// remember records the node's head before it goes down, for the no-rollback check.
func (r *runner) remember(ctx context.Context, name string) {
	s := snapshot{node: name}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if c, err := rpchttp.New(r.n.rpc(name), "/websocket"); err == nil {
		if st, err := c.Status(qctx); err == nil {
			s.height, s.hash = st.SyncInfo.LatestBlockHeight, st.SyncInfo.LatestBlockHash
		}
	}
	r.before = append(r.before, s)
}

// liveness is L1 after a heal: every running node, paused ones aside, reaches
// LivenessHeights above the highest height any of them had at the heal.
func (r *runner) liveness(ctx context.Context, after string) error {
	r.res.Heals++
	heights := r.heights(ctx)
	var top int64
	for _, h := range heights {
		top = max(top, h)
	}
	want := top + int64(r.m.LivenessHeights)
	began := time.Now()
	err := r.waitAll(ctx, want, r.m.LivenessTimeout.D())
	var lag *lagError
	switch {
	case errors.As(err, &lag):
		v := check.Violation{Property: "L1", Detail: fmt.Sprintf("%s: %s", after, lag)}
		r.res.Violations = append(r.res.Violations, v)
		r.logf("VIOLATION %s", v)
		return nil
	case err != nil:
		return err
	}
	r.logf("every node reached height %d %v after the heal", want, time.Since(began).Round(100*time.Millisecond))
	return nil
}

// lagError names the nodes that did not reach a height in time.
type lagError struct {
	want   int64
	within time.Duration
	behind map[string]int64
}

func (e *lagError) Error() string {
	var parts []string
	for _, n := range sortedKeys(e.behind) {
		parts = append(parts, fmt.Sprintf("%s at %d", n, e.behind[n]))
	}
	return fmt.Sprintf("not at height %d within %v: %s", e.want, e.within, strings.Join(parts, ", "))
}

// heights asks every running, unpaused node its height; a node that does not answer is
// at 0.
func (r *runner) heights(ctx context.Context) map[string]int64 {
	out := map[string]int64{}
	for _, name := range r.n.names {
		i := r.n.index[name]
		if !r.n.net.Running(i) || r.n.net.Paused(i) {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		h, err := r.n.net.Height(qctx, i)
		cancel()
		if err != nil {
			h = 0
		}
		out[name] = h
	}
	return out
}

// waitStarted waits until every node's RPC answers and some node is at height 2: a node
// a partition keeps from the start from any quorum may not make a block.
func (r *runner) waitStarted(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if err := r.n.net.Exited(); err != nil {
			return err
		}
		answered, top := 0, int64(0)
		for _, name := range r.n.names {
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			h, err := r.n.net.Height(qctx, r.n.index[name])
			cancel()
			if err == nil {
				answered++
				top = max(top, h)
			}
		}
		if answered == len(r.n.names) && top >= 2 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("e2e: the network did not start within %v: %d of %d nodes answer, highest height %d", within, answered, len(r.n.names), top)
		}
		if err := sleepUntil(ctx, time.Now().Add(250*time.Millisecond)); err != nil {
			return err
		}
	}
}

// waitAll waits until every running, unpaused node is at height want or more.
func (r *runner) waitAll(ctx context.Context, want int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if err := r.n.net.Exited(); err != nil {
			return err
		}
		behind := map[string]int64{}
		for n, h := range r.heights(ctx) {
			if h < want {
				behind[n] = h
			}
		}
		if len(behind) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return &lagError{want: want, within: within, behind: behind}
		}
		if err := sleepUntil(ctx, time.Now().Add(250*time.Millisecond)); err != nil {
			return err
		}
	}
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(addr, "tcp://"), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
