package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/engine/sim"
)

func newSimCommand() *cobra.Command {
	var (
		seed, seeds, trace string
		nodes, byzantine   int
		parallel, replays  int
		duration           time.Duration
		plants, behaviours []string
		calm, slowApp      bool
		noSendCheck        bool
		gcDepth            uint64
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the deterministic simulator: one seed (--seed S) or a range (--seeds A-B)",
		Long: `Runs the real engine core of every validator with CometBFT's kvstore app on virtual
time, under seeded network faults, crashes, clock skew and byzantine validators, and checks
agreement, slot integrity, no rollback, durability, app-hash agreement, validity and
liveness. A failure prints its seed, the violated property and the command that replays it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt := sim.Options{Validators: nodes, Duration: duration, Byzantine: byzantine, Calm: calm, SlowApp: slowApp, NoSendCheck: noSendCheck, Behaviours: behaviours, GCDepth: gcDepth}
			for _, p := range plants {
				switch p {
				case "weak-quorum":
					opt.Mutations.WeakQuorum = true
				case "no-slot-guard":
					opt.Mutations.NoSlotGuard = true
				case "send-before-persist":
					opt.Mutations.BroadcastBeforePersist = true
				case "no-client-order":
					opt.Mutations.NoClientOrder = true
				case "no-time-hold":
					opt.Mutations.NoTimeHold = true
				default:
					return fmt.Errorf("--plant %q: want weak-quorum, no-slot-guard, send-before-persist, no-client-order or no-time-hold", p)
				}
			}
			out := cmd.OutOrStdout()
			from, to, err := seedRange(seed, seeds)
			if err != nil {
				return err
			}
			if from == to {
				opt.Seed = from
				if trace != "" {
					f, err := os.Create(trace)
					if err != nil {
						return err
					}
					defer f.Close()
					opt.Trace = f
				}
				res := sim.Run(opt)
				fmt.Fprintf(out, "seed %d: %d validators (powers %v), byzantine %v, trace %x\n",
					res.Seed, res.Validators, res.Powers, res.Byzantine, res.TraceHash[:8])
				fmt.Fprintf(out, "height %d, epoch %d, faults: %s\n", res.Heights, res.Stats.Epochs, res.Stats.FaultSummary())
				fmt.Fprintf(out, "transactions: %d submitted, %d acknowledged, %d committed, %d excused; %d relayed; client order: %d pairs judged, %d excused\n",
					res.Stats.TxsSubmitted, res.Stats.TxsAcknowledged, res.Stats.TxsCommitted, res.Stats.TxsExcused,
					res.Stats.TxsRelayed, res.Stats.OrderedPairs, res.Stats.OrderedPairsExcused)
				if res.Stats.Drain > 0 {
					fmt.Fprintf(out, "drained: ran %v past the duration for acknowledged transactions to commit\n", res.Stats.Drain)
				}
				if res.Failed() {
					sim.Report(out, res, opt)
					return errors.New("the simulation found a violation")
				}
				fmt.Fprintln(out, "ok")
				return nil
			}
			started := time.Now()
			done := 0
			sum := sim.RunSeeds(from, to, opt, parallel, replays, func(res sim.Result) {
				done++
				if res.Failed() {
					sim.Report(out, res, opt)
				}
				if done%100 == 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "%d/%d seeds\n", done, to-from+1)
				}
			})
			sum.Print(out)
			fmt.Fprintf(out, "wall time: %s on %d workers\n", time.Since(started).Round(time.Second), parallel)
			if len(sum.Failures) > 0 {
				return fmt.Errorf("%d of %d seeds failed", len(sum.Failures), sum.Seeds)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&seed, "seed", "", "run this one seed")
	f.StringVar(&seeds, "seeds", "", "run a range of seeds, A-B inclusive")
	f.IntVar(&nodes, "nodes", 0, "validators (default: drawn from 4, 7, 10 per seed)")
	f.DurationVar(&duration, "duration", 60*time.Second, "virtual time per seed")
	f.IntVar(&byzantine, "byzantine", -1, "byzantine validators (default: drawn up to f by stake; more is a negative control)")
	f.StringSliceVar(&behaviours, "behaviour", nil, "restrict byzantine behaviours (equivocate, withhold, garbage, replay, twin, amnesia, clock-ahead, clock-behind)")
	f.StringSliceVar(&plants, "plant", nil, "plant a protocol bug the checkers must catch: weak-quorum, no-slot-guard, send-before-persist, no-client-order, no-time-hold")
	f.BoolVar(&calm, "calm", false, "no crashes, partitions, loss or clock faults")
	f.BoolVar(&slowApp, "slow-app", false, "make an app slow long enough that its execution lags ordering by the lag limit")
	f.BoolVar(&noSendCheck, "no-send-check", false, "turn off the driver's persist-before-send check (with --plant send-before-persist: the checkers must catch it)")
	f.Uint64Var(&gcDepth, "gc-depth", 0, "every core's GC depth (0: drawn per seed from 20, 60 (production's) and 400)")
	f.IntVar(&parallel, "parallel", runtime.NumCPU(), "seeds run at once")
	f.IntVar(&replays, "replay-every", 10, "rerun every N-th seed and check its trace hash is identical (0: never)")
	f.StringVar(&trace, "trace", "", "with --seed: write the event trace to this file")
	return cmd
}

func seedRange(seed, seeds string) (uint64, uint64, error) {
	switch {
	case seed != "" && seeds != "":
		return 0, 0, errors.New("give --seed or --seeds, not both")
	case seed != "":
		s, err := strconv.ParseUint(seed, 10, 64)
		return s, s, err
	case seeds != "":
		a, b, ok := strings.Cut(seeds, "-")
		from, err1 := strconv.ParseUint(a, 10, 64)
		to, err2 := strconv.ParseUint(b, 10, 64)
		if !ok || err1 != nil || err2 != nil || to < from {
			return 0, 0, fmt.Errorf("--seeds %q: want A-B with A <= B", seeds)
		}
		return from, to, nil
	}
	return 1, 1, nil
}
