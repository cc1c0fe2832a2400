package localnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tutti-bft/tutti/testnet/load"
)

// stopGrace is how long a node gets to stop on SIGTERM before it is killed.
const stopGrace = 15 * time.Second

// startWithin bounds the wait for a fresh network's first blocks.
const startWithin = 60 * time.Second

// RunOptions are one `tutti localnet`.
type RunOptions struct {
	Options
	Rate     float64       // ledger transfers offered per second
	Duration time.Duration // how long to send them
	Drain    time.Duration // how long to wait for the last ones to commit
	Out      io.Writer     // what the run says: the network, then the summary
	Progress io.Writer     // the live line (nil: none)
	TTY      bool          // Progress is a terminal: rewrite the line in place
	// Interrupt, when closed, ends the load early (it still drains and reports); cancelling
	// the context stops at once. Either way every node is stopped before Run returns.
	Interrupt <-chan struct{}
}

// Run generates the network, starts every node, waits for blocks, runs the ledger load,
// stops every node and returns the load's report. The nodes are stopped on every path out
// of Run, errors and cancellation included.
func Run(ctx context.Context, opt RunOptions) (rep *load.Report, err error) {
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	opt.ProxyApp = "ledger"
	nw, err := Generate(ctx, opt.Options)
	if err != nil {
		return nil, err
	}
	defer func() {
		fmt.Fprintf(opt.Out, "stopping %d nodes\n", len(nw.Homes))
		if err == nil {
			// A node that died during the load is a failure of the run, even though the
			// load itself went on against the others.
			err = nw.Exited()
		}
		err = errors.Join(err, nw.StopAll(stopGrace))
	}()
	for i := range nw.Homes {
		if err := nw.Start(i); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(opt.Out, "started %d validators (ledger app, %d funded accounts) in %s; logs in %s/nodeN/node.log; RPC %s\n",
		len(nw.Homes), opt.LedgerAccounts, opt.Dir, opt.Dir, nw.RPC(0))
	if err := nw.WaitHeight(ctx, 2, startWithin); err != nil {
		return nil, err
	}
	fmt.Fprintf(opt.Out, "chain is making blocks; sending ledger transfers at %g/s for %v (Ctrl-C stops early)\n", opt.Rate, opt.Duration)
	rep, err = load.Run(ctx, load.Config{
		Endpoints:      nw.RPCs(),
		Rate:           opt.Rate,
		Duration:       opt.Duration,
		App:            "ledger",
		Drain:          opt.Drain,
		LedgerSeed:     opt.LedgerSeed,
		LedgerAccounts: opt.LedgerAccounts,
		Progress:       opt.Progress,
		ProgressTTY:    opt.TTY,
		Interrupt:      opt.Interrupt,
	})
	return rep, err
}
