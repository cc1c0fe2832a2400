package main

import (
	"fmt"
	"os"

	"github.com/cometbft/cometbft/privval"
	"github.com/spf13/cobra"
)

func newResetAllCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "unsafe-reset-all",
		Aliases: []string{"unsafe_reset_all"},
		Short:   "(unsafe) Remove all chain data and reset the validator's signing state; keys and config stay",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			dataDir := cfg.DBPath()
			if err := os.RemoveAll(dataDir); err != nil {
				return fmt.Errorf("remove %s: %w", dataDir, err)
			}
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return err
			}
			fmt.Fprintln(out, "Removed all chain data in", dataDir)
			keyFile, stateFile := cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile()
			if !fileExists(keyFile) {
				return nil
			}
			// The signing state is rewritten through privval itself, so the file stays in
			// the exact format its double-sign check reads; a missing or hand-edited file
			// would be worse than a clean reset.
			pv := privval.LoadFilePVEmptyState(keyFile, stateFile)
			pv.Reset()
			fmt.Fprintln(out, "Reset private validator signing state", stateFile)
			fmt.Fprintln(out, "Warning: on a live network this validator may now sign again for rounds it already signed; only rejoin after the network has moved past them")
			return nil
		},
	}
}
