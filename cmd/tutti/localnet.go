package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/testnet/accounts"
	lnet "github.com/tutti-bft/tutti/testnet/localnet"
)

func newLocalnetCommand() *cobra.Command {
	var (
		opt               lnet.RunOptions
		jsonPath, csvPath string
	)
	cmd := &cobra.Command{
		Use:   "localnet",
		Short: "Generate and run a local validator network with the ledger app under load, then report",
		Long: `Generates --validators homes in --dir (tutti testnet with the ledger app in process and
--ledger-accounts funded accounts; a directory from an earlier localnet is replaced), starts
every node (logs in DIR/nodeN/node.log), waits for blocks, sends ledger transfers at --rate
per second for --duration with tutti load (live line on stderr), then stops every node it
started and prints the summary. Ctrl-C stops the load early (the summary still prints); a
second Ctrl-C stops at once. The nodes are stopped on every way out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			opt.Bin = bin
			if opt.Dir, err = filepath.Abs(opt.Dir); err != nil {
				return err
			}
			opt.Out = cmd.ErrOrStderr()
			opt.Progress, opt.TTY = os.Stderr, isTerminal(os.Stderr)
			ctx, interrupt, stop := twoStageSignals()
			defer stop()
			opt.Interrupt = interrupt
			rep, err := lnet.Run(ctx, opt)
			if rep != nil {
				if werr := writeLoadReport(cmd, rep, jsonPath, csvPath); werr != nil && err == nil {
					err = werr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.Dir, "dir", "localnet", "directory for the node homes")
	f.IntVar(&opt.Validators, "validators", 4, "number of validators")
	f.IntVar(&opt.StartingPort, "starting-port", 26656, "p2p port of node0; node i uses this + 10i for p2p, +1 for RPC, +4 for metrics")
	f.StringVar(&opt.ChainID, "chain-id", "tutti-localnet", "chain ID")
	f.IntVar(&opt.LedgerAccounts, "ledger-accounts", 1000, "funded ledger accounts the load sends from")
	f.StringVar(&opt.LedgerSeed, "ledger-seed", accounts.DefaultSeed, "seed the funded accounts' keys derive from")
	f.Float64Var(&opt.Rate, "rate", 200, "ledger transfers offered per second")
	f.DurationVar(&opt.Duration, "duration", 60*time.Second, "how long to send")
	f.DurationVar(&opt.Drain, "drain", 10*time.Second, "after sending, how long to wait for the last transfers to commit")
	f.StringVar(&jsonPath, "json", "", "also write the load report as JSON to this file")
	f.StringVar(&csvPath, "csv", "", "also write the per-second series as CSV to this file")
	return cmd
}
