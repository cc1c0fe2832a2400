package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	ledgercli "github.com/tutti-bft/tutti/app/ledger/cli"
	"github.com/tutti-bft/tutti/engine/config"
)

// homeEnv names the environment variable that sets the home directory, as CMTHOME does
// for CometBFT.
const homeEnv = "TUTTI_HOME"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "tutti",
		Short:         "Tutti: a leaderless BFT ordering engine that speaks CometBFT's ABCI",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("home", defaultHome(), "node home directory (env "+homeEnv+")")
	root.AddCommand(
		newInitCommand(),
		newShowNodeIDCommand(),
		newShowValidatorCommand(),
		newVersionCommand(),
		newResetAllCommand(),
		newTestnetCommand(),
		newSimCommand(),
		newStartCommand(),
		newLoadCommand(),
		newLocalnetCommand(),
		newE2ECommand(),
		ledgercli.Command(),
	)
	return root
}

// defaultHome is $TUTTI_HOME, else ~/.tutti.
func defaultHome() string {
	if h := os.Getenv(homeEnv); h != "" {
		return h
	}
	if dir, err := os.UserHomeDir(); err == nil {
		return filepath.Join(dir, ".tutti")
	}
	return ".tutti"
}

func homeFlag(cmd *cobra.Command) string {
	h, _ := cmd.Flags().GetString("home")
	return h
}

// loadConfig reads the home's config.toml, or the defaults if the home has none yet (so
// show-node-id works on a home made by another tool, as CometBFT's does).
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	home := homeFlag(cmd)
	cfg := config.Default()
	cfg.Home = home
	if _, err := os.Stat(cfg.ConfigFile()); os.IsNotExist(err) {
		return cfg, nil
	}
	return config.Load(home)
}
