package core

// txQueue holds the transactions our next blocks will carry, in the order they go out.
// Each carries the relay barrier of the batch it came in (PayloadAvailable.AfterRelayed):
// it may only go into a block once every relayed transaction admitted before it is in that
// block's causal history or already ordered (relay.go).
type txQueue struct {
	txs      [][]byte
	barriers []uint64
	bytes    int
}

func (q *txQueue) len() int { return len(q.txs) }

// pushBack queues tx behind the others.
func (q *txQueue) pushBack(tx []byte, barrier uint64) {
	q.txs = append(q.txs, tx)
	q.barriers = append(q.barriers, barrier)
	q.bytes += len(tx)
}

// pushFront queues txs ahead of the others, with their barriers (one per tx).
func (q *txQueue) pushFront(txs [][]byte, barriers []uint64) {
	if len(txs) == 0 {
		return
	}
	q.txs = append(append([][]byte(nil), txs...), q.txs...)
	q.barriers = append(append([]uint64(nil), barriers...), q.barriers...)
	for _, tx := range txs {
		q.bytes += len(tx)
	}
}

// take removes and returns the first n transactions.
func (q *txQueue) take(n int) [][]byte {
	out := q.txs[:n:n]
	for _, tx := range out {
		q.bytes -= len(tx)
	}
	q.txs, q.barriers = q.txs[n:], q.barriers[n:]
	return out
}

// clear empties the queue and returns what it held.
func (q *txQueue) clear() [][]byte {
	out := q.txs
	*q = txQueue{}
	return out
}
