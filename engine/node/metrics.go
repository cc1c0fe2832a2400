package node

import (
	"errors"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtmempool "github.com/cometbft/cometbft/mempool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/engine/mempool"
	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/store"
)

// metrics are the node's Prometheus metrics, named as CometBFT's with the configured
// namespace ("tutti") in place of "cometbft", so dashboards carry over by a prefix change.
// Each node has its own registry rather than the global one: two nodes in one process (the
// tests) would otherwise collide on registration. That is also why this uses the Prometheus
// client directly: cometbft's go-kit wrappers register on the global registry. A nil *metrics (prometheus = false) makes
// every method a no-op, so the hot paths pay one nil check.
type metrics struct {
	reg *prometheus.Registry

	height, latestHeight, rounds, epoch  prometheus.Gauge
	validators, validatorsPower          prometheus.Gauge
	commits, skipped                     prometheus.Counter
	numTxs, totalTxs                     prometheus.Gauge
	blockInterval, commitLatency, procMs prometheus.Histogram
	failedTxs, rejectedTxs, duplicateTxs prometheus.Counter
	txSizeBytes                          prometheus.Histogram
	proposalCreate                       prometheus.Counter
	proposalReceive                      *prometheus.CounterVec
	prepareDropped, prepareAdded         prometheus.Counter
	relayTxs                             *prometheus.CounterVec
	floodedPeers                         prometheus.Counter
	undecodablePeers                     prometheus.Counter

	// Owned by the loop goroutine: the core's counters are cumulative, Prometheus counters
	// take increments.
	lastCommits, lastSkipped uint64
	// Owned by the executor goroutine: the previous block's time, for the interval.
	lastBlockTimeMs int64
}

func newMetrics(cfg config.InstrumentationConfig, pool *mempool.Mempool, st *store.Store) *metrics {
	if !cfg.Prometheus {
		return nil
	}
	ns := cfg.Namespace
	gauge := func(sub, name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	counter := func(sub, name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	histogram := func(sub, name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help, Buckets: buckets})
	}
	// Seconds from 10 ms to about 20 s: a healthy commit takes a few hundred milliseconds,
	// a stall on a missing leader several seconds.
	secs := prometheus.ExponentialBuckets(0.01, 2, 12)
	m := &metrics{
		reg:             prometheus.NewRegistry(),
		height:          gauge("consensus", "height", "Last height the DAG ordered (cut into an ABCI block)."),
		latestHeight:    gauge("consensus", "latest_block_height", "Last height executed by the app and stored."),
		rounds:          gauge("consensus", "rounds", "DAG round of this validator's latest own block."),
		epoch:           gauge("consensus", "epoch", "Current epoch (validator-set period)."),
		validators:      gauge("consensus", "validators", "Number of validators in the current committee."),
		validatorsPower: gauge("consensus", "validators_power", "Total voting power of the current committee."),
		commits:         counter("consensus", "commits_total", "Leader slots decided commit."),
		skipped:         counter("consensus", "skipped_slots_total", "Leader slots decided skip."),
		numTxs:          gauge("consensus", "num_txs", "Transactions in the last executed block."),
		totalTxs:        gauge("consensus", "total_txs", "Transactions executed since the node started."),
		blockInterval:   histogram("consensus", "block_interval_seconds", "Time between this and the last block (block times).", secs),
		commitLatency: histogram("consensus", "block_commit_latency_seconds",
			"Time from a block's time to its execution on this node.", secs),
		// Milliseconds and CometBFT's buckets, so the two engines' figures compare directly.
		procMs: histogram("state", "block_processing_time",
			"Time to execute (FinalizeBlock, Commit), store a block and update the mempool, in ms.", prometheus.LinearBuckets(1, 10, 10)),
		failedTxs:    counter("mempool", "failed_txs", "Transactions the app refused in CheckTx."),
		rejectedTxs:  counter("mempool", "rejected_txs", "Transactions the pool refused for its limits (full, too large)."),
		duplicateTxs: counter("mempool", "already_received_txs", "Transactions refused as already seen (cache hit)."),
		txSizeBytes:  histogram("mempool", "tx_size_bytes", "Sizes of transactions admitted to the pool.", prometheus.ExponentialBuckets(1, 3, 7)),
	}
	m.proposalCreate = counter("consensus", "proposal_create_count", "PrepareProposal calls: payloads the app shaped for this validator's own blocks.")
	m.proposalReceive = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "consensus", Name: "proposal_receive_count",
		Help: "ProcessProposal verdicts on the blocks this node executes: accepted, rejected (executed anyway: the block is final)."}, []string{"status"})
	m.prepareDropped = counter("consensus", "prepare_proposal_left_out_txs", "Mempool transactions PrepareProposal left out (they stay in the mempool).")
	m.prepareAdded = counter("consensus", "prepare_proposal_added_txs", "Transactions PrepareProposal added that were not in the mempool.")
	m.relayTxs = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "mempool", Name: "relay_txs",
		Help: "Relayed transactions: received and admitted, refused (known already or invalid), limited (over the peer's rate), dropped (queue full); sent, unsent (the peer's queue was full)."},
		[]string{"status"})
	m.floodedPeers = counter("p2p", "flooding_peer_disconnects", "Peers disconnected for keeping their queue of inputs full while the node took inputs.")
	m.undecodablePeers = counter("p2p", "undecodable_message_disconnects", "Peers disconnected for sending a message the node cannot decode.")
	m.reg.MustRegister(m.floodedPeers, m.undecodablePeers, m.proposalCreate, m.proposalReceive, m.prepareDropped, m.prepareAdded, m.relayTxs)
	m.reg.MustRegister(m.height, m.latestHeight, m.rounds, m.epoch, m.validators, m.validatorsPower,
		m.commits, m.skipped, m.numTxs, m.totalTxs, m.blockInterval, m.commitLatency, m.procMs,
		m.failedTxs, m.rejectedTxs, m.duplicateTxs, m.txSizeBytes,
		// The pool is safe for concurrent use, so its size is read when scraped.
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: "mempool", Name: "size",
			Help: "Pending transactions."}, func() float64 { return float64(pool.Size()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: "mempool", Name: "size_bytes",
			Help: "Total bytes of pending transactions."}, func() float64 { return float64(pool.SizeBytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: "state", Name: "txindex_lag_heights",
			Help: "Stored heights the transaction index does not hold yet (0 with indexer = \"null\")."},
			func() float64 { return float64(st.IndexLag()) }),
		// What CometBFT's default registry serves too (go_*, process_*).
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeLoop copies the core's progress where other goroutines read it: its sync
// requests for status' catching_up (catchup.go), even without metrics, and the gauges.
// Call it only from the loop goroutine, which owns the core; it is cheap (a handful of
// atomic stores).
func (m *metrics) observeLoop(n *Node) {
	s := n.core.Stats()
	n.catchUp.observe(s.SyncRequests, time.Now)
	if m == nil {
		return
	}
	m.height.Set(float64(s.Height))
	m.latestHeight.Set(float64(n.height.Load()))
	m.rounds.Set(float64(s.Round))
	m.epoch.Set(float64(s.Epoch))
	m.commits.Add(float64(s.Commits - m.lastCommits)) // the core's counters only grow
	m.skipped.Add(float64(s.Skipped - m.lastSkipped))
	m.lastCommits, m.lastSkipped = s.Commits, s.Skipped
	c := n.committee.Load()
	m.validators.Set(float64(c.Size()))
	m.validatorsPower.Set(float64(c.TotalPower()))
}

// executed records a block the executor finished; processing is the executor's time for it.
// Call it only from the executor goroutine.
func (m *metrics) executed(b *order.ABCIBlock, processing time.Duration) {
	if m == nil {
		return
	}
	m.numTxs.Set(float64(len(b.Txs)))
	m.totalTxs.Add(float64(len(b.Txs)))
	m.procMs.Observe(float64(processing) / float64(time.Millisecond))
	// A block time ahead of this node's clock (skew) counts as zero rather than a negative
	// latency that would pull the histogram's sum down.
	m.commitLatency.Observe(max(0, time.Since(time.UnixMilli(b.TimeMs)).Seconds()))
	if m.lastBlockTimeMs != 0 {
		m.blockInterval.Observe(max(0, float64(b.TimeMs-m.lastBlockTimeMs)/1000))
	}
	m.lastBlockTimeMs = b.TimeMs
}

// checkedTx records the outcome of a client transaction's admission (any goroutine).
func (m *metrics) checkedTx(size int, res *abci.ResponseCheckTx, err error) {
	if m == nil {
		return
	}
	switch {
	case errors.Is(err, mempool.ErrAppFailed):
		// The connection broke: the node is stopping, the transaction was not judged.
	case errors.Is(err, cmtmempool.ErrTxInCache):
		m.duplicateTxs.Inc()
	case err != nil:
		m.rejectedTxs.Inc()
	case res.Code != abci.CodeTypeOK:
		m.failedTxs.Inc()
	default:
		m.txSizeBytes.Observe(float64(size))
	}
}

// preparedProposal records one PrepareProposal: offered mempool transactions, the list the
// block carries, and the offered ones left out (any goroutine).
func (m *metrics) preparedProposal(offered, kept, leftOut int) {
	if m == nil {
		return
	}
	m.proposalCreate.Inc()
	m.prepareDropped.Add(float64(leftOut))
	// kept = (offered - leftOut) + added
	m.prepareAdded.Add(float64(max(0, kept-(offered-leftOut))))
}

// relayed counts relayed transactions by what happened to them (any goroutine).
func (m *metrics) relayed(status string, n int) {
	if m == nil {
		return
	}
	m.relayTxs.WithLabelValues(status).Add(float64(n))
}

// receivedProposal records a ProcessProposal verdict on a block about to be executed.
func (m *metrics) receivedProposal(status string) {
	if m == nil {
		return
	}
	m.proposalReceive.WithLabelValues(status).Inc()
}

// undecodablePeer counts a peer disconnected for an undecodable message; any goroutine.
func (m *metrics) undecodablePeer() {
	if m != nil {
		m.undecodablePeers.Inc()
	}
}

// floodedPeer counts a peer disconnected for flooding; any goroutine.
func (m *metrics) floodedPeer() {
	if m != nil {
		m.floodedPeers.Inc()
	}
}
