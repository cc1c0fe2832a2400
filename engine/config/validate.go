package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// KeyError is a bad value in config.toml; Key is written as it appears in the file
// ("consensus.leader_timeout").
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string { return fmt.Sprintf("config key %s: %s", e.Key, e.Reason) }

// Validate checks every value and returns all problems at once, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Reason: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.Moniker) == "" {
		bad("moniker", "must not be empty")
	}
	if !isBuiltinApp(c.ProxyApp) && !hasScheme(c.ProxyApp, "tcp", "unix") {
		bad("proxy_app", "%q is neither a built-in app (kvstore, persistent_kvstore, ledger, noop) nor an address like tcp://127.0.0.1:26658 or unix:///path", c.ProxyApp)
	}
	if c.ABCI != "socket" && c.ABCI != "grpc" {
		bad("abci", "%q must be \"socket\" or \"grpc\"", c.ABCI)
	}
	if c.DBDir == "" {
		bad("db_dir", "must not be empty")
	}
	if _, ok := logLevels[c.LogLevel]; !ok {
		bad("log_level", "%q must be one of trace, debug, info, warn, error", c.LogLevel)
	}
	if c.LogFormat != "plain" && c.LogFormat != "json" {
		bad("log_format", "%q must be \"plain\" or \"json\"", c.LogFormat)
	}
	for key, v := range map[string]string{"genesis_file": c.Genesis, "priv_validator_key_file": c.PrivValidatorKey,
		"priv_validator_state_file": c.PrivValidatorState, "node_key_file": c.NodeKey} {
		if v == "" {
			bad(key, "must not be empty")
		}
	}

	checkListen(bad, "rpc.laddr", c.RPC.ListenAddress)
	within(bad, "rpc.max_open_connections", int64(c.RPC.MaxOpenConnections), 1, 65536)
	within(bad, "rpc.max_subscription_clients", int64(c.RPC.MaxSubscriptionClients), 1, 10000)
	within(bad, "rpc.max_searches_per_client", int64(c.RPC.MaxSearchesPerClient), 1, 1000)
	positiveDuration(bad, "rpc.timeout_broadcast_tx_commit", c.RPC.TimeoutBroadcastTxCommit)
	within(bad, "rpc.max_body_bytes", c.RPC.MaxBodyBytes, 1, gib)
	within(bad, "rpc.max_header_bytes", int64(c.RPC.MaxHeaderBytes), 1, 64*mib)
	within(bad, "rpc.max_request_batch_size", int64(c.RPC.MaxRequestBatchSize), 0, 100000)

	checkListen(bad, "p2p.laddr", c.P2P.ListenAddress)
	if c.P2P.ExternalAddress != "" {
		if _, _, err := net.SplitHostPort(strings.TrimPrefix(c.P2P.ExternalAddress, "tcp://")); err != nil {
			bad("p2p.external_address", "%q is not host:port", c.P2P.ExternalAddress)
		}
	}
	for _, p := range SplitList(c.P2P.PersistentPeers) {
		if err := checkPeerAddress(p); err != nil {
			bad("p2p.persistent_peers", "%q: %v", p, err)
		}
	}
	within(bad, "p2p.max_num_inbound_peers", int64(c.P2P.MaxNumInboundPeers), 0, 10000)
	within(bad, "p2p.max_num_outbound_peers", int64(c.P2P.MaxNumOutboundPeers), 0, 1000)
	within(bad, "p2p.max_message_bytes", int64(c.P2P.MaxMessageBytes), 1, 256*mib)
	within(bad, "p2p.send_queue_size", int64(c.P2P.SendQueueSize), 1, 1000000)
	positiveDuration(bad, "p2p.handshake_timeout", c.P2P.HandshakeTimeout)
	positiveDuration(bad, "p2p.dial_timeout", c.P2P.DialTimeout)

	within(bad, "mempool.size", int64(c.Mempool.Size), 1, 10000000)
	within(bad, "mempool.max_txs_bytes", c.Mempool.MaxTxsBytes, 1, 64*gib)
	// A DAG block carries transactions of at most 1 MiB (types.DefaultBlockLimits), and
	// peers refuse a relay of a larger one: the mempool must not admit what no block holds.
	within(bad, "mempool.max_tx_bytes", int64(c.Mempool.MaxTxBytes), 1, mib)
	within(bad, "mempool.cache_size", int64(c.Mempool.CacheSize), 0, 100000000)
	if int64(c.Mempool.MaxTxBytes) > c.Mempool.MaxTxsBytes {
		bad("mempool.max_tx_bytes", "%d exceeds mempool.max_txs_bytes %d", c.Mempool.MaxTxBytes, c.Mempool.MaxTxsBytes)
	}

	within(bad, "consensus.leader_slots_per_round", int64(c.Consensus.LeaderSlotsPerRound), 0, maxValidators)
	positiveDuration(bad, "consensus.leader_timeout", c.Consensus.LeaderTimeout)
	nonNegativeDuration(bad, "consensus.min_round_delay", c.Consensus.MinRoundDelay)
	if c.Consensus.GCDepth < 3 {
		bad("consensus.gc_depth", "%d is below 3: the commit rule looks 3 rounds back", c.Consensus.GCDepth)
	} else if c.Consensus.GCDepth > 100000 {
		bad("consensus.gc_depth", "%d is above 100000: every node keeps that many rounds of blocks in memory", c.Consensus.GCDepth)
	}
	positiveDuration(bad, "consensus.block_target_interval", c.Consensus.BlockTargetInterval)
	if c.Consensus.MaxEmptyBlockInterval < c.Consensus.BlockTargetInterval {
		bad("consensus.max_empty_block_interval", "%s is shorter than consensus.block_target_interval %s",
			c.Consensus.MaxEmptyBlockInterval.D(), c.Consensus.BlockTargetInterval.D())
	}
	within(bad, "consensus.block_max_bytes", c.Consensus.BlockMaxBytes, 1, maxBlockBytes)
	within(bad, "consensus.dag_block_max_bytes", int64(c.Consensus.DAGBlockMaxBytes), 1, 256*mib)
	if c.Consensus.DAGBlockMaxBytes > c.P2P.MaxMessageBytes {
		bad("consensus.dag_block_max_bytes", "%d exceeds p2p.max_message_bytes %d: such a block could not be sent",
			c.Consensus.DAGBlockMaxBytes, c.P2P.MaxMessageBytes)
	}
	within(bad, "consensus.min_epoch_rounds", int64(c.Consensus.MinEpochRounds), 1, 1000000)
	nonNegativeDuration(bad, "consensus.straggler_wait", c.Consensus.StragglerWait)
	positiveDuration(bad, "consensus.max_forward_time_drift", c.Consensus.MaxForwardTimeDrift)

	if c.TxIndex.Indexer != "kv" && c.TxIndex.Indexer != "null" {
		bad("tx_index.indexer", "%q must be \"kv\" or \"null\"", c.TxIndex.Indexer)
	}
	if c.Instrumentation.Prometheus {
		if _, _, err := net.SplitHostPort(c.Instrumentation.PrometheusListenAddr); err != nil {
			bad("instrumentation.prometheus_listen_addr", "%q is not host:port", c.Instrumentation.PrometheusListenAddr)
		}
	}
	if c.Instrumentation.Namespace == "" {
		bad("instrumentation.namespace", "must not be empty")
	}
	return errors.Join(errs...)
}

var logLevels = map[string]struct{}{"trace": {}, "debug": {}, "info": {}, "warn": {}, "error": {}}

// isBuiltinApp names the apps of abci/conn.Builtins; config does not import that package,
// which pulls in the apps themselves.
func isBuiltinApp(s string) bool {
	return s == "kvstore" || s == "persistent_kvstore" || s == "ledger" || s == "noop"
}

func hasScheme(addr string, schemes ...string) bool {
	for _, s := range schemes {
		if strings.HasPrefix(addr, s+"://") && len(addr) > len(s)+3 {
			return true
		}
	}
	return false
}

func checkListen(bad func(string, string, ...any), key, addr string) {
	switch {
	case strings.HasPrefix(addr, "unix://") && len(addr) > len("unix://"):
	case strings.HasPrefix(addr, "tcp://"):
		if _, _, err := net.SplitHostPort(strings.TrimPrefix(addr, "tcp://")); err != nil {
			bad(key, "%q is not tcp://host:port", addr)
		}
	default:
		bad(key, "%q must start with tcp:// or unix://", addr)
	}
}

// checkPeerAddress accepts CometBFT's ID@host:port, where ID is 40 lower-case hex digits.
func checkPeerAddress(p string) error {
	id, hostPort, ok := strings.Cut(p, "@")
	if !ok {
		return errors.New("want ID@host:port")
	}
	if len(id) != 40 || strings.Trim(id, "0123456789abcdef") != "" {
		return errors.New("node ID must be 40 lower-case hex digits")
	}
	if _, _, err := net.SplitHostPort(hostPort); err != nil {
		return fmt.Errorf("want host:port after the ID: %v", err)
	}
	return nil
}

// Upper bounds of sizes and counts: far above what a real node uses (each default is many
// times below its bound), low enough that a typo (an extra zero or six) is refused before it
// becomes a node that allocates or accepts without limit.
const (
	mib = 1 << 20
	gib = 1 << 30
	// maxValidators is engine/types.MaxValidators (config imports no engine package).
	maxValidators = 1 << 10
	// maxBlockBytes is CometBFT's cap on a block (types.MaxBlockSizeBytes).
	maxBlockBytes = 100 * mib
)

// within refuses v outside [lo, hi].
func within(bad func(string, string, ...any), key string, v, lo, hi int64) {
	if v < lo || v > hi {
		bad(key, "must be between %d and %d, got %d", lo, hi, v)
	}
}

// SplitList splits CometBFT's comma-separated lists, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func positiveDuration(bad func(string, string, ...any), key string, d Duration) {
	if d <= 0 {
		bad(key, "must be a positive duration, got %s", d.D())
	}
}

func nonNegativeDuration(bad func(string, string, ...any), key string, d Duration) {
	if d < 0 {
		bad(key, "must not be a negative duration, got %s", d.D())
	}
}
