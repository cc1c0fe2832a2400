package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/engine/version"
)

func newVersionCommand() *cobra.Command {
	var long bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print Tutti's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			out := cmd.OutOrStdout()
			if !long {
				fmt.Fprintln(out, version.Tutti) // bare, like `cometbft version`
				return
			}
			fmt.Fprintf(out, "tutti: %s\ncometbft compatibility: %s\nabci: %s\n",
				version.Tutti, version.CometBFTCompat, version.ABCI)
		},
	}
	cmd.Flags().BoolVar(&long, "long", false, "also print the CometBFT and ABCI versions Tutti is compatible with")
	return cmd
}
