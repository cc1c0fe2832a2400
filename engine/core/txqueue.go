package core

import "crypto/sha256"

// txQueue holds the transactions our next blocks will carry, in the order they go out.
// Each carries the relay barrier of the batch it came in (PayloadAvailable.AfterRelayed):
// it may only go into a block once every relayed transaction admitted before it is in that
// block's causal history or already ordered (relay.go).
type txQueue struct {
	txs      [][]byte
	barriers []uint64
	hashes   [][sha256.Size]byte
	bytes    int
}

func (q *txQueue) len() int { return len(q.txs) }

// pushBack queues tx behind the others.
func (q *txQueue) pushBack(tx []byte, barrier uint64) {
	q.txs = append(q.txs, tx)
	q.barriers = append(q.barriers, barrier)
	q.hashes = append(q.hashes, sha256.Sum256(tx))
	q.bytes += len(tx)
}

// pushFront queues txs ahead of the others, with their barriers (one per tx).
func (q *txQueue) pushFront(txs [][]byte, barriers []uint64) {
	if len(txs) == 0 {
		return
	}
	hashes := make([][sha256.Size]byte, len(txs))
	for i, tx := range txs {
		hashes[i] = sha256.Sum256(tx)
		q.bytes += len(tx)
	}
	q.txs = append(append([][]byte(nil), txs...), q.txs...)
	q.barriers = append(append([]uint64(nil), barriers...), q.barriers...)
	q.hashes = append(hashes, q.hashes...)
}

// take removes and returns the first n transactions.
func (q *txQueue) take(n int) [][]byte {
	out := q.txs[:n:n]
	for _, tx := range out {
		q.bytes -= len(tx)
	}
	q.txs, q.barriers, q.hashes = q.txs[n:], q.barriers[n:], q.hashes[n:]
	return out
}

// dropIf removes the transactions whose hash ordered reports, keeping the others' order.
func (q *txQueue) dropIf(ordered func([sha256.Size]byte) bool) {
	keep := 0
	for i := range q.txs {
		if ordered(q.hashes[i]) {
			q.bytes -= len(q.txs[i])
			continue
		}
		q.txs[keep], q.barriers[keep], q.hashes[keep] = q.txs[i], q.barriers[i], q.hashes[i]
		keep++
	}
	clear(q.txs[keep:])
	q.txs, q.barriers, q.hashes = q.txs[:keep], q.barriers[:keep], q.hashes[:keep]
}

// clear empties the queue and returns what it held.
func (q *txQueue) clear() [][]byte {
	out := q.txs
	*q = txQueue{}
	return out
}
