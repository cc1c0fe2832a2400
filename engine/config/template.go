package config

import (
	"io"
	"strconv"
	"strings"
	"text/template"
)

// render writes config.toml. The file is written from a template rather than marshalled so
// that every key carries the comment an operator needs, as CometBFT's file does.
func render(w io.Writer, cfg *Config) error {
	return configTemplate.Execute(w, cfg)
}

var configTemplate = template.Must(template.New("config").Funcs(template.FuncMap{
	"q": strconv.Quote,
	"list": func(items []string) string {
		quoted := make([]string, len(items))
		for i, s := range items {
			quoted[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	},
}).Parse(`# Tutti node configuration, in CometBFT's layout. Paths are relative to the home directory.
# Unknown keys are errors, so a typo is caught at start instead of silently ignored.

# A custom human-readable name for this node.
moniker = {{q .Moniker}}

# The ABCI application: "kvstore" (CometBFT's example app, in process), "ledger" (Tutti's
# ledger app, in process), "noop", or the address of an external app such as
# "tcp://127.0.0.1:26658" or "unix:///path/app.sock".
proxy_app = {{q .ProxyApp}}

# Transport to an external app: "socket" or "grpc".
abci = {{q .ABCI}}

# Directory of the node's databases.
db_dir = {{q .DBDir}}

# Log level: trace, debug, info, warn or error.
log_level = {{q .LogLevel}}

# Log format: "plain" (for a terminal) or "json".
log_format = {{q .LogFormat}}

# The genesis document: CometBFT's form or the Cosmos SDK's AppGenesis form.
genesis_file = {{q .Genesis}}

# The validator key, in CometBFT's privval format.
priv_validator_key_file = {{q .PrivValidatorKey}}

# The last-signed state that stops this validator from ever signing twice for one slot.
priv_validator_state_file = {{q .PrivValidatorState}}

# The node's p2p identity; its node ID is derived from it.
node_key_file = {{q .NodeKey}}

# Ask the app (Query /p2p/filter/...) whether to accept a peer.
filter_peers = {{.FilterPeers}}

[rpc]
# Where the CometBFT-compatible JSON-RPC server listens (HTTP, URI GET and /websocket).
laddr = {{q .RPC.ListenAddress}}

# Origins allowed to make cross-domain requests; ["*"] allows all.
cors_allowed_origins = {{list .RPC.CORSAllowedOrigins}}

# Maximum simultaneous RPC connections, websocket included.
max_open_connections = {{.RPC.MaxOpenConnections}}

# Maximum distinct clients that may subscribe to events over websocket.
max_subscription_clients = {{.RPC.MaxSubscriptionClients}}

# Most tx_search and block_search requests one client (IP) may have in progress: a broad
# query over a large index costs a fraction of a second of CPU, and more are refused.
max_searches_per_client = {{.RPC.MaxSearchesPerClient}}

# How long broadcast_tx_commit waits for the transaction to commit.
timeout_broadcast_tx_commit = {{q (print .RPC.TimeoutBroadcastTxCommit.D)}}

# Maximum size of a request body, in bytes.
max_body_bytes = {{.RPC.MaxBodyBytes}}

# Maximum size of request headers, in bytes.
max_header_bytes = {{.RPC.MaxHeaderBytes}}

# Maximum number of requests in one JSON-RPC batch (a JSON array of requests); 0 means no
# limit beyond max_body_bytes. A load generator sending batches of 100 needs at least 100.
max_request_batch_size = {{.RPC.MaxRequestBatchSize}}

[p2p]
# Where this node listens for peers.
laddr = {{q .P2P.ListenAddress}}

# The address peers should dial to reach this node, if not laddr (host:port).
external_address = {{q .P2P.ExternalAddress}}

# Comma-separated peers to stay connected to, as ID@host:port.
persistent_peers = {{q .P2P.PersistentPeers}}

# Maximum inbound and outbound peer connections.
max_num_inbound_peers = {{.P2P.MaxNumInboundPeers}}
max_num_outbound_peers = {{.P2P.MaxNumOutboundPeers}}

# Largest message accepted on any channel, in bytes; a larger frame closes the connection.
max_message_bytes = {{.P2P.MaxMessageBytes}}

# Messages queued per peer before the sender is pushed back.
send_queue_size = {{.P2P.SendQueueSize}}

# Time allowed for the encrypted handshake, and for dialling a peer.
handshake_timeout = {{q (print .P2P.HandshakeTimeout.D)}}
dial_timeout = {{q (print .P2P.DialTimeout.D)}}

# Allow several peers from one IP address (needed for a testnet on one host).
allow_duplicate_ip = {{.P2P.AllowDuplicateIP}}

[mempool]
# Re-run CheckTx on pending transactions after each block, dropping those now invalid.
recheck = {{.Mempool.Recheck}}

# Maximum number of pending transactions.
size = {{.Mempool.Size}}

# Maximum total bytes of pending transactions.
max_txs_bytes = {{.Mempool.MaxTxsBytes}}

# Largest single transaction accepted, in bytes.
max_tx_bytes = {{.Mempool.MaxTxBytes}}

# Hashes of recent transactions (committed ones included) remembered to refuse duplicates.
cache_size = {{.Mempool.CacheSize}}

[consensus]
# CHAIN RULES: leader_slots_per_round, gc_depth, block_target_interval,
# max_empty_block_interval, block_max_bytes, min_epoch_rounds and straggler_wait
# decide what is ordered and
# how it is cut into blocks. Every validator of a chain must use the same values (those
# tutti testnet writes); a validator with other values computes other blocks and halts on
# the first app-hash disagreement. leader_timeout, min_round_delay, dag_block_max_bytes
# and max_forward_time_drift are this node's own.

# Leader slots per DAG round; 0 means every validator is a leader slot in every round,
# which keeps any single proposer off the critical path.
leader_slots_per_round = {{.Consensus.LeaderSlotsPerRound}}

# How long a validator waits for the round's leader blocks before proposing without them.
leader_timeout = {{q (print .Consensus.LeaderTimeout.D)}}

# Minimum time between two of this validator's blocks: the batching knob.
min_round_delay = {{q (print .Consensus.MinRoundDelay.D)}}

# Rounds kept below the last committed leader round before blocks are evicted.
gc_depth = {{.Consensus.GCDepth}}

# Commit-time span after which an ABCI block is closed (the cut rule's time target).
block_target_interval = {{q (print .Consensus.BlockTargetInterval.D)}}

# Longest commit-time span without an ABCI block while there are no transactions.
max_empty_block_interval = {{q (print .Consensus.MaxEmptyBlockInterval.D)}}

# Transaction bytes after which an ABCI block is closed (the cut rule's size target).
block_max_bytes = {{.Consensus.BlockMaxBytes}}

# Largest DAG block this validator proposes, payload included.
dag_block_max_bytes = {{.Consensus.DAGBlockMaxBytes}}

# Minimum length of an epoch in rounds. A validator update changes the app's validator set
# at H+2 as in CometBFT, but the DAG committee (who orders) changes only at the first block
# this many rounds into the epoch; until then the new validators are listed ABSENT in
# DecidedLastCommit and removed ones still order.
min_epoch_rounds = {{.Consensus.MinEpochRounds}}

# Commit-time span an ABCI block may wait, once a quorum attested the block before it, for
# the attestations of validators that attested recently (as CometBFT's timeout_commit
# collects late precommits): a healthy validator a round behind the quorum is then listed
# COMMIT in DecidedLastCommit, not ABSENT. A validator waited for in vain is not waited for
# at the next block. 0 closes blocks at once.
straggler_wait = {{q (print .Consensus.StragglerWait.D)}}

# A DAG block stamped further ahead of this node's clock than this waits, unreferenced, until
# the clock catches up (it is delayed, never rejected). It bounds how far ahead of honest
# clocks block time can run: up to a third of the stake stamping blocks a year ahead moves
# block time by at most this much.
max_forward_time_drift = {{q (print .Consensus.MaxForwardTimeDrift.D)}}

[tx_index]
# "kv" indexes transactions by hash and events (for tx and tx_search); "null" turns it off.
indexer = {{q .TxIndex.Indexer}}

[instrumentation]
# Serve Prometheus metrics.
prometheus = {{.Instrumentation.Prometheus}}

# Where the metrics are served.
prometheus_listen_addr = {{q .Instrumentation.PrometheusListenAddr}}

# Prefix of every metric name.
namespace = {{q .Instrumentation.Namespace}}
`))
