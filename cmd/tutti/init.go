package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/engine/config"
)

func newInitCommand() *cobra.Command {
	var chainID, moniker string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a home: config.toml, genesis.json and keys (existing files are kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.Default()
			cfg.Home = homeFlag(cmd)
			if moniker != "" {
				cfg.Moniker = moniker
			}
			if chainID == "" {
				chainID = "test-chain-" + randomSuffix()
			}
			out := cmd.OutOrStdout()
			if err := writeConfigIfAbsent(cfg, out); err != nil {
				return err
			}
			pv, err := loadOrGenValidatorKey(cfg, out)
			if err != nil {
				return err
			}
			if _, err := loadOrGenNodeKey(cfg, out); err != nil {
				return err
			}
			if fileExists(cfg.GenesisFile()) {
				fmt.Fprintln(out, "Found genesis file", cfg.GenesisFile())
				return nil
			}
			doc := newGenesis(chainID, time.Now().UTC(), []cmttypes.GenesisValidator{genesisValidator(pv, cfg.Moniker)})
			if err := doc.SaveAs(cfg.GenesisFile()); err != nil {
				return err
			}
			fmt.Fprintln(out, "Generated genesis file", cfg.GenesisFile())
			return nil
		},
	}
	cmd.Flags().StringVar(&chainID, "chain-id", "", "chain ID of the new genesis (default: test-chain-<random>)")
	cmd.Flags().StringVar(&moniker, "moniker", "", "human-readable name of this node")
	return cmd
}

func writeConfigIfAbsent(cfg *config.Config, out interface{ Write([]byte) (int, error) }) error {
	if fileExists(cfg.ConfigFile()) {
		fmt.Fprintln(out, "Found config file", cfg.ConfigFile())
		return nil
	}
	if err := os.MkdirAll(cfg.DBPath(), 0o700); err != nil {
		return err
	}
	if err := config.Write(cfg); err != nil {
		return err
	}
	fmt.Fprintln(out, "Generated config file", cfg.ConfigFile())
	return nil
}

// loadOrGenValidatorKey never replaces an existing key: a validator that lost its key
// file's contents to a re-run of init would lose its identity and stake.
func loadOrGenValidatorKey(cfg *config.Config, out interface{ Write([]byte) (int, error) }) (*privval.FilePV, error) {
	keyFile, stateFile := cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile()
	for _, f := range []string{keyFile, stateFile} {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return nil, err
		}
	}
	if fileExists(keyFile) {
		fmt.Fprintln(out, "Found private validator", keyFile)
		if !fileExists(stateFile) {
			// A key without its state file: start a fresh signing state next to it, as
			// CometBFT's LoadFilePVEmptyState does.
			pv := privval.LoadFilePVEmptyState(keyFile, stateFile)
			pv.LastSignState.Save()
			return pv, nil
		}
		return privval.LoadFilePV(keyFile, stateFile), nil
	}
	pv := privval.GenFilePV(keyFile, stateFile)
	pv.Save()
	fmt.Fprintln(out, "Generated private validator", keyFile)
	return pv, nil
}

func loadOrGenNodeKey(cfg *config.Config, out interface{ Write([]byte) (int, error) }) (*p2p.NodeKey, error) {
	path := cfg.NodeKeyFile()
	existed := fileExists(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	key, err := p2p.LoadOrGenNodeKey(path)
	if err != nil {
		return nil, err
	}
	if existed {
		fmt.Fprintln(out, "Found node key", path)
	} else {
		fmt.Fprintln(out, "Generated node key", path)
	}
	return key, nil
}

func genesisValidator(pv *privval.FilePV, name string) cmttypes.GenesisValidator {
	pub := pv.Key.PubKey
	return cmttypes.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: 10, Name: name}
}

func newGenesis(chainID string, at time.Time, vals []cmttypes.GenesisValidator) *cmttypes.GenesisDoc {
	return &cmttypes.GenesisDoc{
		GenesisTime:     at,
		ChainID:         chainID,
		InitialHeight:   1,
		ConsensusParams: cmttypes.DefaultConsensusParams(),
		Validators:      vals,
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func randomSuffix() string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}
