package sim

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/core"
)

// seedsFromEnv lets CI run a larger tier than a developer's quick run.
func seedsFromEnv(name string, def uint64) uint64 {
	if v, err := strconv.ParseUint(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v
	}
	return def
}

func reportFailures(t *testing.T, sum Summary, opt Options) {
	t.Helper()
	var buf bytes.Buffer
	for _, f := range sum.Failures {
		Report(&buf, f, opt)
	}
	if buf.Len() > 0 {
		t.Error(buf.String())
	}
}

func TestFaultFreeRunCommitsEverything(t *testing.T) {
	res := Run(Options{Seed: 7, Validators: 4, Duration: 20 * time.Second, Byzantine: 0, Calm: true})
	for _, v := range res.Violations {
		t.Error(v)
	}
	if res.Stats.TxsAcknowledged == 0 || res.Stats.TxsCommitted != res.Stats.TxsAcknowledged {
		t.Fatalf("acknowledged %d, committed %d", res.Stats.TxsAcknowledged, res.Stats.TxsCommitted)
	}
	if res.Heights < 20 {
		t.Fatalf("only %d heights in 20 s", res.Heights)
	}
}

// TestSameSeedSameTrace: one seed drives everything, so a run replays byte for byte, and
// another seed does something else.
func TestSameSeedSameTrace(t *testing.T) {
	opt := Options{Seed: 42, Byzantine: -1, Duration: 20 * time.Second}
	var traceA, traceB bytes.Buffer
	opt.Trace = &traceA
	a := Run(opt)
	opt.Trace = &traceB
	b := Run(opt)
	if a.TraceHash != b.TraceHash || !bytes.Equal(traceA.Bytes(), traceB.Bytes()) {
		t.Fatal("the same seed produced two different traces")
	}
	opt.Seed, opt.Trace = 43, nil
	if c := Run(opt); c.TraceHash == a.TraceHash {
		t.Fatal("two seeds produced the same trace")
	}
}

// TestSwarm is the CI tier: seeds alternate between 4 and 7 validators and draw every
// fault rate and up to f byzantine validators by stake. TUTTI_SIM_SEEDS sets how many.
func TestSwarm(t *testing.T) {
	seeds := seedsFromEnv("TUTTI_SIM_SEEDS", 40)
	for _, n := range []int{4, 7} {
		opt := Options{Validators: n, Byzantine: -1, Duration: 60 * time.Second}
		sum := RunSeeds(1, seeds/2, opt, 2, 10, nil)
		var out bytes.Buffer
		sum.Print(&out)
		t.Logf("n=%d\n%s", n, out.String())
		reportFailures(t, sum, opt)
		if sum.ReplaysChecked == 0 || sum.ReplaysMatching != sum.ReplaysChecked {
			t.Errorf("determinism: %d of %d replays identical", sum.ReplaysMatching, sum.ReplaysChecked)
		}
	}
}

// TestSlowApp: one instance's app takes 1-4 s per height from the first second to the heal,
// so its execution lags ordering by the runtime's lag limit and its driver stops taking
// inputs until it catches up; calm and under every fault, with 4 and 7 validators.
func TestSlowApp(t *testing.T) {
	for _, calm := range []bool{true, false} {
		for _, n := range []int{4, 7} {
			opt := Options{Validators: n, Byzantine: -1, Calm: calm, SlowApp: true, Duration: 60 * time.Second}
			if calm {
				opt.Byzantine = 0
			}
			sum := RunSeeds(1, 12, opt, 2, 4, nil)
			var out bytes.Buffer
			sum.Print(&out)
			t.Logf("n=%d calm=%v\n%s", n, calm, out.String())
			reportFailures(t, sum, opt)
			if calm && sum.Stats.SeedsAtLagLimit < 6 {
				t.Errorf("n=%d: the lag limit was reached in %d of 12 calm seeds, want at least 6", n, sum.Stats.SeedsAtLagLimit)
			}
		}
	}
}

// TestLyingClocks: up to f validators by stake run clocks a year ahead or behind; block
// time stays within the forward drift of honest clocks (T1) and every other property holds.
func TestLyingClocks(t *testing.T) {
	for _, n := range []int{4, 7} {
		opt := Options{Validators: n, Byzantine: -1, Behaviours: []string{"clock-ahead", "clock-behind"}, Duration: 60 * time.Second}
		sum := RunSeeds(1, 16, opt, 2, 4, nil)
		var out bytes.Buffer
		sum.Print(&out)
		t.Logf("n=%d\n%s", n, out.String())
		reportFailures(t, sum, opt)
		if sum.Stats.Faults["lying-clock"] == 0 {
			t.Errorf("n=%d: no seed drew a lying clock", n)
		}
	}
}

// TestCheckersCatchPlantedBugs proves the checkers are not blind: each planted protocol
// bug, and more than f byzantine validators, must be flagged within 1,000 seeds.
func TestCheckersCatchPlantedBugs(t *testing.T) {
	cases := []struct {
		name   string
		opt    Options
		caught []string // the properties that must flag it
	}{
		// With 2f as a quorum (2 of 4 unit stakes), two halves of a partitioned network each
		// "have a quorum" and decide on their own.
		{"quorum of 2f", Options{Powers: []int64{1, 1, 1, 1}, Byzantine: 0, Mutations: core.Mutations{WeakQuorum: true}}, []string{"S1", "S5", "fork-detected"}},
		{"no one-block-per-slot guard", Options{Byzantine: -1, Behaviours: []string{"equivocate"}, Mutations: core.Mutations{NoSlotGuard: true}}, []string{"S2"}},
		// The driver refuses to send it (P1); with its check off, a crash between the send
		// and the lost write makes the node sign a second block for the round (S2).
		{"broadcast before persist", Options{Byzantine: 0, Mutations: core.Mutations{BroadcastBeforePersist: true}}, []string{"P1"}},
		{"broadcast before persist, unchecked", Options{Byzantine: 0, NoSendCheck: true, Mutations: core.Mutations{BroadcastBeforePersist: true}}, []string{"S2"}},
		{"no hold of future-stamped blocks", Options{Byzantine: -1, Behaviours: []string{"clock-ahead"}, Mutations: core.Mutations{NoTimeHold: true}}, []string{"T1"}},
		{"no client-order rule", Options{Byzantine: 0, Mutations: core.Mutations{NoClientOrder: true}}, []string{"O1"}},
		{"f+1 byzantine twins", Options{Validators: 4, Byzantine: 2, Behaviours: []string{"twin"}}, []string{"S1", "S5", "fork-detected"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.opt
			opt.Duration = 30 * time.Second
			for seed := uint64(1); seed <= 1000; seed++ {
				opt.Seed = seed
				for _, v := range Run(opt).Violations {
					for _, want := range tc.caught {
						if v.Property == want {
							t.Logf("caught at seed %d: %v", seed, v)
							return
						}
					}
				}
			}
			t.Fatalf("not caught by %v within 1,000 seeds", tc.caught)
		})
	}
}

func TestReplayCommandNamesEverything(t *testing.T) {
	opt := Options{Validators: 7, Duration: 30 * time.Second, Byzantine: 2, Mutations: core.Mutations{NoSlotGuard: true}}
	got := Replay(Result{Seed: 99}, opt)
	want := fmt.Sprintf("tutti sim --seed 99 --nodes 7 --duration %s --byzantine 2 --plant no-slot-guard", 30*time.Second)
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}
