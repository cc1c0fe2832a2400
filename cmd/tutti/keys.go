package main

import (
	"fmt"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/spf13/cobra"
)

func newShowNodeIDCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show-node-id",
		Short: "Print this node's ID (derived from node_key.json)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			key, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
			if err != nil {
				return fmt.Errorf("load node key %s: %w", cfg.NodeKeyFile(), err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), key.ID())
			return nil
		},
	}
}

func newShowValidatorCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show-validator",
		Short: "Print this node's validator public key in CometBFT's JSON form",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			keyFile := cfg.PrivValidatorKeyFile()
			if !fileExists(keyFile) {
				return fmt.Errorf("private validator file %s does not exist (run `tutti init`)", keyFile)
			}
			pv := privval.LoadFilePVEmptyState(keyFile, cfg.PrivValidatorStateFile())
			pub, err := pv.GetPubKey()
			if err != nil {
				return err
			}
			bz, err := cmtjson.Marshal(pub)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(bz))
			return nil
		},
	}
}
