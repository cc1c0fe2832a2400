package relay

// Message is one batch for one peer: transactions with the same owner.
type Message struct {
	Peer  string
	Owner []byte
	Txs   [][]byte
}

// Outbox collects what goes to each peer until it is taken, grouping transactions by
// peer and owner in the order they were added, each batch within maxTxs and maxBytes.
type Outbox struct {
	maxTxs, maxBytes int
	msgs             []Message
	open             map[string]int // peer+owner -> index of its last batch in msgs
	sizes            []int
}

// NewOutbox returns an empty outbox whose batches hold at most maxTxs transactions and
// maxBytes bytes (a single larger transaction goes alone).
func NewOutbox(maxTxs, maxBytes int) *Outbox {
	return &Outbox{maxTxs: maxTxs, maxBytes: maxBytes, open: map[string]int{}}
}

// Add queues tx for every peer d names.
func (o *Outbox) Add(d Decision, tx []byte) {
	for _, p := range d.To {
		k := p + "\x00" + string(d.Owner)
		i, ok := o.open[k]
		if !ok || len(o.msgs[i].Txs) >= o.maxTxs || o.sizes[i]+len(tx) > o.maxBytes {
			o.msgs = append(o.msgs, Message{Peer: p, Owner: d.Owner})
			o.sizes = append(o.sizes, 0)
			i = len(o.msgs) - 1
			o.open[k] = i
		}
		o.msgs[i].Txs = append(o.msgs[i].Txs, tx)
		o.sizes[i] += len(tx)
	}
}

// Len is the number of batches waiting.
func (o *Outbox) Len() int { return len(o.msgs) }

// Take returns the batches and empties the outbox.
func (o *Outbox) Take() []Message {
	out := o.msgs
	o.msgs, o.sizes = nil, nil
	clear(o.open)
	return out
}
