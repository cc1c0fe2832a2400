package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/cometbft/cometbft/p2p"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/testnet/accounts"
)

// Port offsets of node i: p2p at base+10i, RPC at base+10i+1, metrics at base+10i+4
// (26656, 26657 and 26660 for node 0, as CometBFT's defaults).
const (
	portStride    = 10
	rpcOffset     = 1
	metricsOffset = 4
)

type testnetOptions struct {
	validators   int
	outputDir    string
	chainID      string
	startingPort int
	proxyApp     string
	// ledgerAccounts accounts derived from ledgerSeed (testnet/accounts) are funded in the
	// genesis app_state, so that `tutti load --app ledger` can sign transfers from them.
	ledgerAccounts int
	ledgerSeed     string
	// docker writes the homes for a compose network (testnet_docker.go): the default ports
	// inside each container, peers by service name, and DIR/docker-compose.yml.
	docker bool
}

func newTestnetCommand() *cobra.Command {
	var opt testnetOptions
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Generate the homes of an N-validator network on this host, sharing one genesis",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opt.validators < 1 {
				return fmt.Errorf("--v must be at least 1, got %d", opt.validators)
			}
			if opt.ledgerAccounts < 0 {
				return fmt.Errorf("--ledger-accounts must not be negative, got %d", opt.ledgerAccounts)
			}
			if opt.startingPort < 1 || opt.startingPort+portStride*opt.validators > 65535 {
				return fmt.Errorf("--starting-port %d leaves no room for %d nodes", opt.startingPort, opt.validators)
			}
			return generateTestnet(opt, cmd.OutOrStdout())
		},
	}
	cmd.Flags().IntVar(&opt.validators, "v", 4, "number of validators")
	cmd.Flags().StringVar(&opt.outputDir, "o", "./mytestnet", "directory to write the node homes to (node0, node1, ...)")
	cmd.Flags().StringVar(&opt.chainID, "chain-id", "", "chain ID (default: chain-<random>)")
	cmd.Flags().IntVar(&opt.startingPort, "starting-port", 26656, "p2p port of node0; node i uses this + 10i for p2p, +1 for RPC, +4 for metrics")
	cmd.Flags().StringVar(&opt.proxyApp, "proxy_app", "kvstore", "the app every node runs (kvstore, persistent_kvstore, ledger, noop or an address)")
	cmd.Flags().IntVar(&opt.ledgerAccounts, "ledger-accounts", 0, "fund this many ledger accounts in the genesis app_state, with keys derived from --ledger-seed (what `tutti load --app ledger` signs with)")
	cmd.Flags().StringVar(&opt.ledgerSeed, "ledger-seed", accounts.DefaultSeed, "seed the funded ledger accounts' keys derive from (test networks only: the keys follow from it)")
	cmd.Flags().BoolVar(&opt.docker, "docker", false, "write homes for containers (peers node0.. on the default ports) and DIR/"+composeFile+" (image "+dockerImage+", node i's RPC on host 127.0.0.1:starting-port+10i+1)")
	return cmd
}

func generateTestnet(opt testnetOptions, out interface{ Write([]byte) (int, error) }) error {
	if opt.chainID == "" {
		opt.chainID = "chain-" + randomSuffix()
	}
	cfgs := make([]*config.Config, opt.validators)
	ids := make([]p2p.ID, opt.validators)
	vals := make([]cmttypes.GenesisValidator, opt.validators)
	quiet := &strings.Builder{}
	for i := range cfgs {
		cfg := config.Default()
		cfg.Home = filepath.Join(opt.outputDir, fmt.Sprintf("node%d", i))
		cfg.Moniker = fmt.Sprintf("node%d", i)
		cfg.ProxyApp = opt.proxyApp
		base := opt.startingPort + portStride*i
		cfg.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", base)
		cfg.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", base+rpcOffset)
		cfg.Instrumentation.PrometheusListenAddr = fmt.Sprintf("127.0.0.1:%d", base+metricsOffset)
		cfg.Instrumentation.Prometheus = true
		cfg.P2P.AllowDuplicateIP = true
		if opt.docker {
			useContainerAddresses(cfg)
		}
		pv, err := loadOrGenValidatorKey(cfg, quiet)
		if err != nil {
			return err
		}
		key, err := loadOrGenNodeKey(cfg, quiet)
		if err != nil {
			return err
		}
		cfgs[i], ids[i], vals[i] = cfg, key.ID(), genesisValidator(pv, cfg.Moniker)
	}
	doc := newGenesis(opt.chainID, time.Now().UTC(), vals)
	if opt.ledgerAccounts > 0 {
		appState, err := accounts.AppState(opt.ledgerSeed, opt.ledgerAccounts, accounts.DefaultBalance)
		if err != nil {
			return err
		}
		doc.AppState = appState
	}
	for i, cfg := range cfgs {
		var peers []string
		for j, other := range cfgs {
			if j != i {
				host := strings.TrimPrefix(other.P2P.ListenAddress, "tcp://")
				if opt.docker {
					host = dockerPeerAddress(j)
				}
				peers = append(peers, fmt.Sprintf("%s@%s", ids[j], host))
			}
		}
		cfg.P2P.PersistentPeers = strings.Join(peers, ",")
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("node%d: %w", i, err)
		}
		if err := config.Write(cfg); err != nil {
			return err
		}
		if err := doc.SaveAs(cfg.GenesisFile()); err != nil {
			return err
		}
	}
	if opt.docker {
		if err := writeCompose(opt); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "Successfully initialized %d node directories in %s (chain %s)\n", opt.validators, opt.outputDir, opt.chainID)
	return nil
}
