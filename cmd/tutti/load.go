package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/testnet/accounts"
	"github.com/tutti-bft/tutti/testnet/load"
)

func newLoadCommand() *cobra.Command {
	var (
		cfg               load.Config
		endpoints         string
		jsonPath, csvPath string
		plotPath          string
		quiet             bool
		windowExec        string
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Send transactions to nodes' RPC and report throughput and latency to commit",
		Long: `Sends kvstore transactions (unique key=value, --size bytes) or signed ledger transfers
(from accounts funded by tutti testnet --ledger-accounts, keys derived from --ledger-seed) to
the --endpoints round robin with broadcast_tx_sync (over HTTP, or with --transport ws over
one websocket per endpoint): open loop at --rate per second, or closed
loop with --concurrency workers each waiting for its transaction's commit. Latency runs from
a transaction's due time to the first websocket NewBlock event (it lists the block's
transactions and results) that reports it committed, on the first --observe endpoints
(default 1, 0 for all; subscribed before the first send; one is enough, as every node
executes every block, and more catch a transaction committed at two heights on any of them).
A live line is printed every second on stderr; the report goes to stdout and, with
--json / --csv, to files; --plot FILE.png or FILE.svg draws throughput and latency over
time (gonum/plot). --window-from D adds the part of the run from D after the start
(latencies of transactions due then on, the longest time without a new height), and
--window-exec runs a shell command at that moment: a fault, such as killing a validator.
It stops after --duration plus at most --drain; the first Ctrl-C stops sending and drains,
a second one stops at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Endpoints = strings.Split(endpoints, ",")
			if cfg.Observe == 0 {
				// On the command line 0 asks for every node; Config's zero value is one.
				cfg.Observe = len(cfg.Endpoints)
			}
			if !quiet {
				cfg.Progress, cfg.ProgressTTY = os.Stderr, isTerminal(os.Stderr)
			}
			ctx, interrupt, stop := twoStageSignals()
			defer stop()
			cfg.Interrupt = interrupt
			if windowExec != "" {
				if cfg.WindowFrom <= 0 {
					return fmt.Errorf("--window-exec needs --window-from")
				}
				cfg.AtWindow = func() {
					out, err := exec.Command("sh", "-c", windowExec).CombinedOutput()
					fmt.Fprintf(cmd.ErrOrStderr(), "window opened: %s: %v %s\n", windowExec, err, strings.TrimSpace(string(out)))
				}
			}
			if plotPath != "" {
				// A wrong extension is found before the run, not after it.
				if _, err := load.PlotFormat(plotPath); err != nil {
					return err
				}
			}
			rep, err := load.Run(ctx, cfg)
			if err != nil {
				return err
			}
			if err := writeLoadReport(cmd, rep, jsonPath, csvPath); err != nil {
				return err
			}
			return writePlot(rep, plotPath)
		},
	}
	f := cmd.Flags()
	f.StringVar(&endpoints, "endpoints", "http://127.0.0.1:26657", "comma-separated node RPC addresses")
	f.Float64Var(&cfg.Rate, "rate", 200, "open loop: transactions offered per second")
	f.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to send")
	f.BoolVar(&cfg.ClosedLoop, "closed-loop", false, "closed loop: --concurrency workers, each sends once its previous transaction committed")
	f.IntVar(&cfg.Concurrency, "concurrency", 64, "closed loop: workers; open loop: broadcasts in flight at most")
	f.StringVar(&cfg.Transport, "transport", "http", "how broadcasts travel: http (a request each) or ws (one websocket per endpoint)")
	f.IntVar(&cfg.Batch, "batch", 1, "open loop over http: up to this many due transactions per endpoint in one JSON-RPC batch (the nodes' [rpc] max_request_batch_size must allow it)")
	f.StringVar(&cfg.App, "app", "kvstore", "transactions to send: kvstore or ledger")
	f.IntVar(&cfg.Size, "size", 100, "kvstore: bytes per transaction")
	f.IntVar(&cfg.Observe, "observe", 1, "watch the NewBlock events of the first N endpoints (0 or more than there are: all)")
	f.DurationVar(&cfg.WindowFrom, "window-from", 0, "also report latencies of transactions due from this long after the start, and the longest stall between heights from then (a fault injected then)")
	f.StringVar(&windowExec, "window-exec", "", "a shell command run when the window opens (--window-from): the fault, e.g. \"kill -9 PID\"")
	f.DurationVar(&cfg.Drain, "drain", 10*time.Second, "after sending, how long to wait for accepted transactions to commit")
	f.StringVar(&cfg.LedgerSeed, "ledger-seed", accounts.DefaultSeed, "ledger: seed of the funded accounts (as given to tutti testnet)")
	f.IntVar(&cfg.LedgerAccounts, "ledger-accounts", 1000, "ledger: how many funded accounts to send from (at most as many as testnet funded)")
	f.StringVar(&jsonPath, "json", "", "also write the report as JSON to this file")
	f.StringVar(&csvPath, "csv", "", "also write the per-second series (offered, committed, p50, p99) as CSV to this file")
	f.StringVar(&plotPath, "plot", "", "also draw throughput and latency over time to this .png or .svg file")
	f.BoolVar(&quiet, "quiet", false, "no live line")
	return cmd
}

// writeLoadReport prints the summary and writes the files asked for.
func writeLoadReport(cmd *cobra.Command, rep *load.Report, jsonPath, csvPath string) error {
	if err := rep.WriteText(cmd.OutOrStdout()); err != nil {
		return err
	}
	for path, write := range map[string]func(*os.File) error{
		jsonPath: func(f *os.File) error { return rep.WriteJSON(f) },
		csvPath:  func(f *os.File) error { return rep.WriteCSV(f) },
	} {
		if path == "" {
			continue
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// writePlot draws the report's series to path (.png or .svg); "" draws nothing.
func writePlot(rep *load.Report, path string) error {
	if path == "" {
		return nil
	}
	format, err := load.PlotFormat(path)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.WritePlot(f, format); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// twoStageSignals: the first SIGINT or SIGTERM closes interrupt (finish gracefully: stop
// sending, drain, report), a second one cancels ctx (stop now).
func twoStageSignals() (ctx context.Context, interrupt <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	intr := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			close(intr)
		case <-done:
			return
		}
		select {
		case <-sigs:
			cancel()
		case <-done:
		}
	}()
	return ctx, intr, func() { signal.Stop(sigs); close(done); cancel() }
}

// isTerminal says whether f is a terminal, where the live line can rewrite itself.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
