package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/app/ledger/client"
	"github.com/tutti-bft/tutti/app/ledger/keys"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

const defaultNode = "http://127.0.0.1:26657"

func sendCommand() *cobra.Command {
	var from, to, node, memo string
	var amount, fee, nonce uint64
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Sign a transfer with a key from HOME/ledger-keys and broadcast it (broadcast_tx_sync)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := keys.Load(keysDir(home(cmd)), from)
			if err != nil {
				return err
			}
			toAddr, err := tx.ParseAddress(to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			c, err := client.Dial(node)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var explicit *uint64
			if cmd.Flags().Changed("nonce") {
				explicit = &nonce
			}
			res, err := c.Send(ctx, key.PrivKey, toAddr, amount, fee, memo, explicit)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "accepted by the mempool: tx %s\n", res.Hash)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "name of the sending key")
	cmd.Flags().StringVar(&to, "to", "", "recipient address (hex)")
	cmd.Flags().Uint64Var(&amount, "amount", 0, "amount to transfer")
	cmd.Flags().Uint64Var(&fee, "fee", 0, "fee paid to the block proposer")
	cmd.Flags().Uint64Var(&nonce, "nonce", 0, "nonce to use (default: the account's committed nonce)")
	cmd.Flags().StringVar(&memo, "memo", "", "memo, at most 256 bytes")
	cmd.Flags().StringVar(&node, "node", defaultNode, "RPC address of a node")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up after this long")
	for _, f := range []string{"from", "to", "amount"} {
		cmd.MarkFlagRequired(f)
	}
	return cmd
}

func balanceCommand() *cobra.Command {
	var node string
	var prove bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "balance ADDRESS",
		Short: "Read an account's balance and nonce; with --prove, verify its Merkle proof",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := tx.ParseAddress(args[0])
			if err != nil {
				return err
			}
			c, err := client.Dial(node)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var b client.Balance
			if prove {
				b, err = c.ProvenAccount(ctx, addr)
			} else {
				b, err = c.Account(ctx, addr)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "address %s balance %d nonce %d height %d", addr, b.Balance, b.Nonce, b.Height)
			if prove {
				fmt.Fprintf(cmd.OutOrStdout(), " proof verified against app hash %X", b.AppHash)
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().StringVar(&node, "node", defaultNode, "RPC address of a node")
	cmd.Flags().BoolVar(&prove, "prove", false, "verify the Merkle proof against the app hash in the next block header")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}
