package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/app/ledger/keys"
)

func keysCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage account keys in HOME/ledger-keys"}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "add NAME",
			Short: "Create a new ed25519 account key",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				k, err := keys.Add(keysDir(home(cmd)), args[0])
				if err != nil {
					return err
				}
				printKey(cmd, k)
				return nil
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List the keys and their addresses",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				all, err := keys.List(keysDir(home(cmd)))
				if err != nil {
					return err
				}
				for _, k := range all {
					printKey(cmd, k)
				}
				return nil
			},
		},
		&cobra.Command{
			Use:   "show NAME",
			Short: "Show a key's address and public key",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				k, err := keys.Load(keysDir(home(cmd)), args[0])
				if err != nil {
					return err
				}
				printKey(cmd, k)
				return nil
			},
		},
	)
	return cmd
}

func printKey(cmd *cobra.Command, k *keys.Key) {
	fmt.Fprintf(cmd.OutOrStdout(), "%s\taddress %s\tpub_key %s\n", k.Name, k.Address(), k.PubKeyHex())
}
