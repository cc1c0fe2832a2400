package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

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
the block store flushed and closed). --proxy_app and --abci override config.toml: a built-in
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
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
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
