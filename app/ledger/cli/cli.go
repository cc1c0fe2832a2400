// Package cli holds the `tutti ledger` commands: run the ledger as an ABCI
// server, edit its genesis, manage keys, send transfers and read balances.
package cli

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// Command is `tutti ledger`; cmd/tutti adds it to the root command.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Tutti's ledger app: accounts and signed transfers over ABCI",
		// Errors are the user's input, not a misuse of the command line.
		SilenceUsage: true,
	}
	cmd.PersistentFlags().String("home", defaultHome(), "node home directory (env TUTTI_HOME)")
	cmd.AddCommand(serveCommand(), genesisCommand(), keysCommand(), sendCommand(), balanceCommand())
	return cmd
}

func defaultHome() string {
	if h := os.Getenv("TUTTI_HOME"); h != "" {
		return h
	}
	if dir, err := os.UserHomeDir(); err == nil {
		return filepath.Join(dir, ".tutti")
	}
	return ".tutti"
}

func home(cmd *cobra.Command) string {
	h, _ := cmd.Flags().GetString("home")
	return h
}

// Paths inside a home directory.
func dataDir(home string) string     { return filepath.Join(home, "data", "ledger") }
func genesisFile(home string) string { return filepath.Join(home, "config", "genesis.json") }
func keysDir(home string) string     { return filepath.Join(home, "ledger-keys") }
