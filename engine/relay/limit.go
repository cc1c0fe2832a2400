package relay

import "time"

// Limiter bounds what each peer may relay to us: a token bucket per peer for transactions
// and one for bytes, each refilled at its rate and holding at most one second of it. What
// a peer sends beyond that is dropped, so a flooding peer cannot make this node CheckTx
// without bound.
type Limiter struct {
	txRate, byteRate float64
	peers            map[string]*bucket
}

type bucket struct {
	txs, bytes float64
	at         time.Time
}

// NewLimiter allows each peer txRate transactions and byteRate bytes per second.
func NewLimiter(txRate, byteRate float64) *Limiter {
	return &Limiter{txRate: txRate, byteRate: byteRate, peers: map[string]*bucket{}}
}

// Allow reports whether peer may relay txs transactions of n bytes in all at now, and if
// so takes them from its buckets. Not safe for concurrent use.
func (l *Limiter) Allow(peer string, now time.Time, txs, n int) bool {
	b := l.peers[peer]
	if b == nil {
		b = &bucket{txs: l.txRate, bytes: l.byteRate, at: now}
		l.peers[peer] = b
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.txs = min(l.txRate, b.txs+dt*l.txRate)
		b.bytes = min(l.byteRate, b.bytes+dt*l.byteRate)
		b.at = now
	}
	if float64(txs) > b.txs || float64(n) > b.bytes {
		return false
	}
	b.txs -= float64(txs)
	b.bytes -= float64(n)
	return true
}

// Forget drops a peer that disconnected.
func (l *Limiter) Forget(peer string) { delete(l.peers, peer) }
