package sim

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Summary aggregates a range of seeds.
type Summary struct {
	Seeds           int
	VirtualTime     time.Duration
	Stats           Stats // summed
	Failures        []Result
	ViolationsBy    map[string]int // per checker
	ReplaysChecked  int
	ReplaysMatching int
	GCDepths        map[uint64]int // seeds per GC depth drawn
}

// RunSeeds runs seeds from..to (inclusive) with opt as the template, parallel at a time,
// and replays every replayEvery-th seed to check that it reproduces its trace hash
// exactly (0: no replays). progress, when set, sees each result as it completes.
func RunSeeds(from, to uint64, opt Options, parallel, replayEvery int, progress func(Result)) Summary {
	if parallel < 1 {
		parallel = 1
	}
	sum := Summary{ViolationsBy: map[string]int{}, GCDepths: map[uint64]int{}}
	var mu sync.Mutex
	seeds := make(chan uint64)
	var wg sync.WaitGroup
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range seeds {
				o := opt
				o.Seed = seed
				res := Run(o)
				replayed, same := false, false
				if replayEvery > 0 && seed%uint64(replayEvery) == 0 {
					again := Run(o)
					replayed, same = true, again.TraceHash == res.TraceHash
				}
				mu.Lock()
				sum.Seeds++
				sum.GCDepths[res.GCDepth]++
				d := o.Duration
				if d <= 0 {
					d = 60 * time.Second
				}
				sum.VirtualTime += d
				sum.Stats.add(&res.Stats)
				if replayed {
					sum.ReplaysChecked++
					if same {
						sum.ReplaysMatching++
					} else {
						res.Violations = append(res.Violations, violationf("replay", "seed %d did not reproduce its trace", seed))
					}
				}
				for _, v := range res.Violations {
					sum.ViolationsBy[v.Property]++
				}
				if res.Failed() {
					sum.Failures = append(sum.Failures, res)
				}
				if progress != nil {
					progress(res)
				}
				mu.Unlock()
			}
		}()
	}
	for seed := from; seed <= to; seed++ {
		seeds <- seed
	}
	close(seeds)
	wg.Wait()
	sort.Slice(sum.Failures, func(i, j int) bool { return sum.Failures[i].Seed < sum.Failures[j].Seed })
	return sum
}

// Replay is the command that reruns one seed exactly.
func Replay(res Result, opt Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tutti sim --seed %d", res.Seed)
	if opt.Validators > 0 {
		fmt.Fprintf(&b, " --nodes %d", opt.Validators)
	}
	if opt.Duration > 0 {
		fmt.Fprintf(&b, " --duration %s", opt.Duration)
	}
	if opt.Byzantine >= 0 {
		fmt.Fprintf(&b, " --byzantine %d", opt.Byzantine)
	}
	for _, beh := range opt.Behaviours {
		fmt.Fprintf(&b, " --behaviour %s", beh)
	}
	if opt.Calm {
		b.WriteString(" --calm")
	}
	if opt.SlowApp {
		b.WriteString(" --slow-app")
	}
	if opt.NoSendCheck {
		b.WriteString(" --no-send-check")
	}
	if opt.GCDepth != 0 {
		fmt.Fprintf(&b, " --gc-depth %d", opt.GCDepth)
	}
	if opt.Mutations.WeakQuorum {
		b.WriteString(" --plant weak-quorum")
	}
	if opt.Mutations.NoSlotGuard {
		b.WriteString(" --plant no-slot-guard")
	}
	if opt.Mutations.BroadcastBeforePersist {
		b.WriteString(" --plant send-before-persist")
	}
	if opt.Mutations.NoClientOrder {
		b.WriteString(" --plant no-client-order")
	}
	if opt.Mutations.NoTimeHold {
		b.WriteString(" --plant no-time-hold")
	}
	return b.String()
}

// Report writes a failure: the seed, each violated property and the replay command.
func Report(w io.Writer, res Result, opt Options) {
	fmt.Fprintf(w, "FAIL seed %d (validators %d, powers %v, byzantine %v, gc depth %d)\n", res.Seed, res.Validators, res.Powers, res.Byzantine, res.GCDepth)
	for _, v := range res.Violations {
		fmt.Fprintf(w, "  %s\n", v)
	}
	fmt.Fprintf(w, "  replay: %s\n", Replay(res, opt))
}

// Print writes the summary figures.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "seeds: %d, virtual time: %.1f h\n", s.Seeds, s.VirtualTime.Hours())
	fmt.Fprintf(w, "faults injected: %s\n", s.Stats.FaultSummary())
	depths := make([]uint64, 0, len(s.GCDepths))
	for d := range s.GCDepths {
		depths = append(depths, d)
	}
	sort.Slice(depths, func(i, j int) bool { return depths[i] < depths[j] })
	var byDepth []string
	for _, d := range depths {
		byDepth = append(byDepth, fmt.Sprintf("%d: %d seeds", d, s.GCDepths[d]))
	}
	fmt.Fprintf(w, "gc depths: %s\n", strings.Join(byDepth, ", "))
	fmt.Fprintf(w, "messages: %d sent, %d dropped, %d duplicated, %d cut by partitions, %d rejected by receivers\n",
		s.Stats.MessagesSent, s.Stats.MessagesDropped, s.Stats.MessagesDuplicated, s.Stats.MessagesPartitioned, s.Stats.MessagesRejected)
	fmt.Fprintf(w, "executor: lag limit %d reached in %d seeds (most waiting: %d); %d peer inputs dropped for a full queue\n",
		executorLag, s.Stats.SeedsAtLagLimit, s.Stats.MaxExecutorLag, s.Stats.InputsDropped)
	fmt.Fprintf(w, "epochs: %d (summed highest epoch per seed)\n", s.Stats.Epochs)
	fmt.Fprintf(w, "checked: %d heights (summed lowest honest height per seed), %d transactions submitted, %d acknowledged, %d committed, %d excused (their node crashed before proposing them)\n",
		s.Stats.Heights, s.Stats.TxsSubmitted, s.Stats.TxsAcknowledged, s.Stats.TxsCommitted, s.Stats.TxsExcused)
	fmt.Fprintf(w, "drain: %d seeds ran on past their duration for acknowledged transactions to commit (longest %v)\n",
		s.Stats.SeedsDrained, s.Stats.Drain)
	fmt.Fprintf(w, "relay: %d relayed transactions admitted; client order: %d pairs judged, %d excused (owner crashed, held it back, or it was taken over)\n",
		s.Stats.TxsRelayed, s.Stats.OrderedPairs, s.Stats.OrderedPairsExcused)
	props := []string{"S1", "S2", "S3", "S4", "S5", "S6", "S7", "O1", "T1", "L1", "P1"}
	for p := range s.ViolationsBy {
		if !contains(props, p) {
			props = append(props, p)
		}
	}
	var parts []string
	for _, p := range props {
		parts = append(parts, fmt.Sprintf("%s %d", p, s.ViolationsBy[p]))
	}
	fmt.Fprintf(w, "violations: %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "determinism: %d of %d replays identical\n", s.ReplaysMatching, s.ReplaysChecked)
	fmt.Fprintf(w, "failed seeds: %d\n", len(s.Failures))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
