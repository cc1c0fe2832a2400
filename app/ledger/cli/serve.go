package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	abciserver "github.com/cometbft/cometbft/abci/server"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/app/ledger"
)

type serveOptions struct {
	address          string
	transport        string
	snapshotInterval int64
	keepVersions     int64
	logLevel         string
}

func serveCommand() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the ledger alone as an ABCI server (socket or gRPC) for an engine to connect to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(cmd.ErrOrStderr(), o.logLevel)
			if err != nil {
				return err
			}
			srv, app, err := startServer(home(cmd), o, logger)
			if err != nil {
				return err
			}
			stop := make(chan os.Signal, 1)
			signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
			select {
			case sig := <-stop:
				logger.Info().Str("signal", sig.String()).Msg("stopping the ledger")
			case <-srv.Quit():
			}
			return stopServer(srv, app)
		},
	}
	cmd.Flags().StringVar(&o.address, "address", "tcp://127.0.0.1:26658", "listen address (tcp://host:port or unix://path)")
	cmd.Flags().StringVar(&o.transport, "transport", "socket", "ABCI transport: socket or grpc")
	cmd.Flags().Int64Var(&o.snapshotInterval, "snapshot-interval", 0, "take a state sync snapshot every N heights (0 = never)")
	cmd.Flags().Int64Var(&o.keepVersions, "keep-versions", 100, "committed heights kept queryable with proofs")
	cmd.Flags().StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func newLogger(w io.Writer, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("--log-level: %w", err)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Str("module", "ledger").Logger(), nil
}

type stoppable interface {
	Stop() error
	Quit() <-chan struct{}
}

// startServer opens the ledger in home and serves it on o.address.
func startServer(home string, o serveOptions, logger zerolog.Logger) (stoppable, *ledger.App, error) {
	opts := []ledger.Option{ledger.WithKeepVersions(o.keepVersions), ledger.WithSnapshots(o.snapshotInterval, 2, 0), ledger.WithLogger(logger)}
	chainID, err := genesisChainID(genesisFile(home))
	if err != nil {
		return nil, nil, err
	}
	if chainID != "" {
		opts = append(opts, ledger.WithChainID(chainID))
	}
	app, err := ledger.New(dataDir(home), opts...)
	if err != nil {
		return nil, nil, err
	}
	srv, err := abciserver.NewServer(o.address, o.transport, app)
	if err != nil {
		app.Close()
		return nil, nil, err
	}
	srv.SetLogger(zerologAdapter{logger.With().Str("component", "abci-server").Logger()})
	if err := srv.Start(); err != nil {
		app.Close()
		return nil, nil, fmt.Errorf("serve on %s: %w", o.address, err)
	}
	info, err := app.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		return nil, nil, errors.Join(err, srv.Stop(), app.Close())
	}
	logger.Info().Str("address", o.address).Str("transport", o.transport).Str("dir", dataDir(home)).
		Str("chain_id", chainID).Int64("height", info.LastBlockHeight).Hex("app_hash", info.LastBlockAppHash).
		Msg("ledger serving ABCI")
	return srv, app, nil
}

func stopServer(srv stoppable, app *ledger.App) error {
	return errors.Join(srv.Stop(), app.Close())
}

// genesisChainID reads chain_id from genesis.json, or "" if there is none.
func genesisChainID(path string) (string, error) {
	raw, err := readLimited(path, maxGenesisFileBytes)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var g struct {
		ChainID string `json:"chain_id"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return g.ChainID, nil
}

// zerologAdapter lets CometBFT's ABCI server log through zerolog.
type zerologAdapter struct{ l zerolog.Logger }

func (z zerologAdapter) Debug(msg string, kv ...any) { z.l.Debug().Fields(kv).Msg(msg) }
func (z zerologAdapter) Info(msg string, kv ...any)  { z.l.Info().Fields(kv).Msg(msg) }
func (z zerologAdapter) Warn(msg string, kv ...any)  { z.l.Warn().Fields(kv).Msg(msg) }
func (z zerologAdapter) Error(msg string, kv ...any) { z.l.Error().Fields(kv).Msg(msg) }
func (z zerologAdapter) With(kv ...any) cmtlog.Logger {
	return zerologAdapter{z.l.With().Fields(kv).Logger()}
}
