// Package config holds a node's configuration: the config.toml file of a Tutti home, its
// defaults, strict loading (unknown keys and bad values are errors naming the key) and the
// paths of the files a home holds, laid out as CometBFT lays them out.
package config

import (
	"fmt"
	"path/filepath"
	"time"
)

// Default file locations inside a home, relative to it (CometBFT's layout).
const (
	DefaultConfigDir  = "config"
	DefaultDataDir    = "data"
	ConfigFileName    = "config.toml"
	defaultGenesis    = "config/genesis.json"
	defaultPrivValKey = "config/priv_validator_key.json"
	defaultPrivValSt  = "data/priv_validator_state.json"
	defaultNodeKey    = "config/node_key.json"
)

// Config is the whole of config.toml. Paths are relative to Home unless absolute.
type Config struct {
	// Home is the node's home directory; it is not read from the file.
	Home string `toml:"-"`

	Moniker            string                `toml:"moniker"`
	ProxyApp           string                `toml:"proxy_app"`
	ABCI               string                `toml:"abci"`
	DBDir              string                `toml:"db_dir"`
	LogLevel           string                `toml:"log_level"`
	LogFormat          string                `toml:"log_format"`
	Genesis            string                `toml:"genesis_file"`
	PrivValidatorKey   string                `toml:"priv_validator_key_file"`
	PrivValidatorState string                `toml:"priv_validator_state_file"`
	NodeKey            string                `toml:"node_key_file"`
	FilterPeers        bool                  `toml:"filter_peers"`
	RPC                RPCConfig             `toml:"rpc"`
	P2P                P2PConfig             `toml:"p2p"`
	Mempool            MempoolConfig         `toml:"mempool"`
	Consensus          ConsensusConfig       `toml:"consensus"`
	TxIndex            TxIndexConfig         `toml:"tx_index"`
	Instrumentation    InstrumentationConfig `toml:"instrumentation"`
}

// RPCConfig is the [rpc] section: the CometBFT-compatible JSON-RPC server.
type RPCConfig struct {
	ListenAddress            string   `toml:"laddr"`
	CORSAllowedOrigins       []string `toml:"cors_allowed_origins"`
	MaxOpenConnections       int      `toml:"max_open_connections"`
	MaxSubscriptionClients   int      `toml:"max_subscription_clients"`
	MaxSearchesPerClient     int      `toml:"max_searches_per_client"`
	TimeoutBroadcastTxCommit Duration `toml:"timeout_broadcast_tx_commit"`
	MaxBodyBytes             int64    `toml:"max_body_bytes"`
	MaxHeaderBytes           int      `toml:"max_header_bytes"`
	MaxRequestBatchSize      int      `toml:"max_request_batch_size"`
}

// P2PConfig is the [p2p] section: authenticated links between nodes.
type P2PConfig struct {
	ListenAddress       string   `toml:"laddr"`
	ExternalAddress     string   `toml:"external_address"`
	PersistentPeers     string   `toml:"persistent_peers"`
	MaxNumInboundPeers  int      `toml:"max_num_inbound_peers"`
	MaxNumOutboundPeers int      `toml:"max_num_outbound_peers"`
	MaxMessageBytes     int      `toml:"max_message_bytes"`
	SendQueueSize       int      `toml:"send_queue_size"`
	HandshakeTimeout    Duration `toml:"handshake_timeout"`
	DialTimeout         Duration `toml:"dial_timeout"`
	AllowDuplicateIP    bool     `toml:"allow_duplicate_ip"`
}

// MempoolConfig is the [mempool] section: admission of client transactions.
type MempoolConfig struct {
	Recheck     bool  `toml:"recheck"`
	Size        int   `toml:"size"`
	MaxTxsBytes int64 `toml:"max_txs_bytes"`
	MaxTxBytes  int   `toml:"max_tx_bytes"`
	CacheSize   int   `toml:"cache_size"`
}

// ConsensusConfig is the [consensus] section: the DAG protocol's parameters (engine/PROTOCOL.md §2-§5).
type ConsensusConfig struct {
	LeaderSlotsPerRound   int      `toml:"leader_slots_per_round"`
	LeaderTimeout         Duration `toml:"leader_timeout"`
	MinRoundDelay         Duration `toml:"min_round_delay"`
	GCDepth               int      `toml:"gc_depth"`
	BlockTargetInterval   Duration `toml:"block_target_interval"`
	MaxEmptyBlockInterval Duration `toml:"max_empty_block_interval"`
	BlockMaxBytes         int64    `toml:"block_max_bytes"`
	DAGBlockMaxBytes      int      `toml:"dag_block_max_bytes"`
	MinEpochRounds        int      `toml:"min_epoch_rounds"`
	StragglerWait         Duration `toml:"straggler_wait"`
	MaxForwardTimeDrift   Duration `toml:"max_forward_time_drift"`
}

// TxIndexConfig is the [tx_index] section.
type TxIndexConfig struct {
	Indexer string `toml:"indexer"`
}

// InstrumentationConfig is the [instrumentation] section: Prometheus metrics.
type InstrumentationConfig struct {
	Prometheus           bool   `toml:"prometheus"`
	PrometheusListenAddr string `toml:"prometheus_listen_addr"`
	Namespace            string `toml:"namespace"`
}

// Default returns the configuration `tutti init` writes.
func Default() *Config {
	return &Config{
		Moniker:            "tutti-node",
		ProxyApp:           "kvstore",
		ABCI:               "socket",
		DBDir:              DefaultDataDir,
		LogLevel:           "info",
		LogFormat:          "plain",
		Genesis:            defaultGenesis,
		PrivValidatorKey:   defaultPrivValKey,
		PrivValidatorState: defaultPrivValSt,
		NodeKey:            defaultNodeKey,
		RPC: RPCConfig{
			ListenAddress:            "tcp://127.0.0.1:26657",
			CORSAllowedOrigins:       []string{},
			MaxOpenConnections:       900,
			MaxSubscriptionClients:   100,
			MaxSearchesPerClient:     2,
			TimeoutBroadcastTxCommit: Duration(10 * time.Second),
			MaxBodyBytes:             1000000,
			MaxHeaderBytes:           1 << 20,
			MaxRequestBatchSize:      10,
		},
		P2P: P2PConfig{
			ListenAddress:       "tcp://0.0.0.0:26656",
			MaxNumInboundPeers:  40,
			MaxNumOutboundPeers: 10,
			MaxMessageBytes:     4 << 20,
			SendQueueSize:       1024,
			HandshakeTimeout:    Duration(20 * time.Second),
			DialTimeout:         Duration(3 * time.Second),
		},
		Mempool: MempoolConfig{
			Recheck:     true,
			Size:        50000,
			MaxTxsBytes: 1 << 30,
			MaxTxBytes:  1 << 20,
			CacheSize:   100000,
		},
		Consensus: ConsensusConfig{
			LeaderSlotsPerRound:   0,
			LeaderTimeout:         Duration(250 * time.Millisecond),
			MinRoundDelay:         Duration(50 * time.Millisecond),
			GCDepth:               60,
			BlockTargetInterval:   Duration(200 * time.Millisecond),
			MaxEmptyBlockInterval: Duration(time.Second),
			BlockMaxBytes:         4 << 20,
			DAGBlockMaxBytes:      2 << 20,
			MinEpochRounds:        50,
			StragglerWait:         Duration(250 * time.Millisecond),
			MaxForwardTimeDrift:   Duration(500 * time.Millisecond),
		},
		TxIndex: TxIndexConfig{Indexer: "kv"},
		Instrumentation: InstrumentationConfig{
			Prometheus:           false,
			PrometheusListenAddr: ":26660",
			Namespace:            "tutti",
		},
	}
}

// Path resolves a path from the file against the home directory.
func (c *Config) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Home, p)
}

// ConfigFile is the path of config.toml.
func (c *Config) ConfigFile() string {
	return filepath.Join(c.Home, DefaultConfigDir, ConfigFileName)
}

// GenesisFile is the path of genesis.json.
func (c *Config) GenesisFile() string { return c.Path(c.Genesis) }

// NodeKeyFile is the path of node_key.json.
func (c *Config) NodeKeyFile() string { return c.Path(c.NodeKey) }

// PrivValidatorKeyFile is the path of priv_validator_key.json.
func (c *Config) PrivValidatorKeyFile() string { return c.Path(c.PrivValidatorKey) }

// PrivValidatorStateFile is the path of priv_validator_state.json.
func (c *Config) PrivValidatorStateFile() string { return c.Path(c.PrivValidatorState) }

// DBPath is the directory holding the node's databases.
func (c *Config) DBPath() string { return c.Path(c.DBDir) }

// Duration is a time.Duration written in config.toml as a string such as "250ms", as
// CometBFT writes its timeouts.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalText writes the duration as Go's duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (write it like \"250ms\" or \"1s\")", b)
	}
	*d = Duration(v)
	return nil
}
