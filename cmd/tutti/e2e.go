package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/testnet/e2e"
)

// errViolations makes the process exit non-zero when a checker failed; the report already
// named the properties.
var errViolations = errors.New("e2e: violations found")

func newE2ECommand() *cobra.Command {
	var (
		dir, jsonPath string
		startingPort  int
	)
	cmd := &cobra.Command{
		Use:   "e2e MANIFEST",
		Short: "Run an end-to-end fault scenario on local processes and check the chains",
		Long: `Reads a TOML manifest (testnet/e2e/manifests/*.toml), generates its network in --dir
(replacing an earlier run's), starts every node on loopback with each peer link behind a
fault proxy, runs the load and the timed perturbations (kill -9 and restart, pause and
resume, restart, partition and heal, added delay, journal truncation), then reads every
node's chain over RPC and checks it: one block and app hash per height on every honest
node (S1, S5), no transaction twice (S2), no rollback across a restart (S3), every
acknowledged transaction committed (S4), a constant ledger supply (S6), and progress after
every heal (L1). Prints the figures and exits non-zero naming the violated properties.
Every process it started is stopped on the way out; Ctrl-C ends the run early.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := e2e.LoadManifest(args[0])
			if err != nil {
				return err
			}
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			name := strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
			if dir == "" {
				dir = filepath.Join(os.TempDir(), "tutti-e2e-"+name)
			}
			if dir, err = filepath.Abs(dir); err != nil {
				return err
			}
			ctx, interrupt, stop := twoStageSignals()
			defer stop()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() {
				select {
				case <-interrupt:
					cancel()
				case <-ctx.Done():
				}
			}()
			res, err := e2e.Run(ctx, name, m, e2e.Options{Bin: bin, Dir: dir, StartingPort: startingPort, Out: cmd.ErrOrStderr()})
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("e2e: interrupted, every process stopped (logs in %s)", dir)
				}
				return fmt.Errorf("%w (logs in %s)", err, dir)
			}
			if err := res.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if jsonPath != "" {
				f, err := os.Create(jsonPath)
				if err != nil {
					return err
				}
				if err := res.WriteJSON(f); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			if res.Failed() {
				return fmt.Errorf("%w: %s (logs in %s)", errViolations, strings.Join(res.Properties(), ", "), dir)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "directory for the node homes and logs (default: $TMPDIR/tutti-e2e-NAME)")
	f.IntVar(&startingPort, "starting-port", 30000, "the search for free ports starts here")
	f.StringVar(&jsonPath, "json", "", "also write the result as JSON to this file")
	return cmd
}
