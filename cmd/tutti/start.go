package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/engine/logging"
	"github.com/tutti-bft/tutti/engine/node"
)

func newStartCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "start",
		Aliases: []string{"node", "run"},
		Short:   "Run the node: handshake with the app, join the peers, order and execute blocks",
		Long: `Runs the node of --home until SIGINT or SIGTERM, which stop it cleanly (no new input,
the height in progress committed, the block store flushed and closed). A second signal, or a
stop that takes longer than 30s (an app that hangs), exits at once; the next start
recovers the store. --proxy_app and --abci override config.toml: a built-in
app (kvstore, persistent_kvstore, ledger, noop) or an external ABCI app at tcp://host:port or unix:///path,
reached over the socket protocol or gRPC, as with CometBFT.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(homeFlag(cmd))
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("proxy_app") {
				cfg.ProxyApp, _ = cmd.Flags().GetString("proxy_app")
			}
			if cmd.Flags().Changed("abci") {
				cfg.ABCI, _ = cmd.Flags().GetString("abci")
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			logger, err := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
			if err != nil {
				return err
			}
			n, err := node.Open(cfg, logger)
			if err != nil {
				return fmt.Errorf("start: %w", err)
			}
			defer n.Close()
			signals := make(chan os.Signal, 2)
			signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
			defer signal.Stop(signals)
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			stopped := make(chan struct{})
			defer close(stopped)
			go stopOnSignals(logger, signals, stop, stopped, stopGrace, os.Exit)
			if err := n.Run(ctx); err != nil {
				logger.Error().Err(err).Msg("node stopped on an error")
				return err
			}
			logger.Info().Int64("height", n.Height()).Msg("node stopped")
			return nil
		},
	}
	cmd.Flags().String("proxy_app", "", "ABCI app: kvstore, persistent_kvstore, ledger, noop, tcp://host:port or unix:///path (default: config.toml's)")
	cmd.Flags().String("abci", "", "transport to an external app: socket or grpc (default: config.toml's)")
	return cmd
}

// stopGrace bounds a clean stop: the height in progress runs to its Commit, which an app that
// hangs never answers.
const stopGrace = 30 * time.Second

// stopOnSignals cancels the node at the first signal and exits the process at a second one,
// or when the stop takes longer than grace: a node must always stop when told to.
func stopOnSignals(log zerolog.Logger, signals <-chan os.Signal, stop context.CancelFunc, stopped <-chan struct{},
	grace time.Duration, exit func(int)) {
	select {
	case sig := <-signals:
		log.Info().Str("signal", sig.String()).Msg("stopping: finishing the height in progress; a second signal exits at once")
	case <-stopped:
		return
	}
	stop()
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	select {
	case sig := <-signals:
		log.Warn().Str("signal", sig.String()).Msg("second signal: exiting without a clean stop; the next tutti start recovers the block store")
		exit(130)
	case <-deadline.C:
		log.Error().Dur("waited", grace).Msg("the node did not stop in time, most likely an ABCI call the app never answers: exiting without a clean stop; check the app, then run tutti start again")
		exit(1)
	case <-stopped:
	}
}
