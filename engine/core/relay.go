package core

import (
	"crypto/sha256"
	"time"

	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/types"
)

// Relayed transactions (PROTOCOL.md §2.1). A node that admits a client's transaction
// passes it on to its peers, naming the validator meant to propose it (the owner). Every
// other validator keeps it as a fallback: it never proposes it while the owner does. The
// core tracks those fallbacks for two rules:
//
//   - Order: a transaction of ours may only go into a block whose causal history holds
//     every relayed transaction the mempool admitted before it, or after those are ordered.
//     A client that sends its next transaction to another node once the previous one was
//     accepted (and relayed there) then sees them ordered as sent, since a block is ordered
//     after everything in its history. If a relayed one does not reach the DAG within
//     RelayWait, we carry it ourselves, ahead of ours.
//   - Takeover: a relayed transaction not seen in any block for TakeoverDelay, while its
//     owner sent no block for as long, goes into our next block: the owner crashed, or is
//     cut off. After 4 × TakeoverDelay it goes in whatever the owner sends (it may have
//     restarted with an empty mempool). A late copy from the owner is dropped by the
//     linearizer's dedupe (DedupeRounds covers the rounds that can separate the two).
//
// Seen means: in a block our DAG accepted at a round below the one we propose at. Such a
// block is in our block's causal history, because we reference every author's latest
// block below our round and an honest author's blocks each reference its previous one.

// relayState is the core's view of the relayed transactions the mempool holds.
type relayState struct {
	waiting []*fallback            // not yet resolved, in Seq order (resolved ones are pruned lazily)
	byKey   map[[32]byte]*fallback // every entry of waiting
	through uint64                 // highest Seq received
	seenAt  map[string]time.Time   // per author public key: when its latest block was accepted
}

type fallback struct {
	seq      uint64
	tx       []byte
	key      [32]byte
	owner    []byte
	at       time.Time
	seenIn   uint64 // round of the first accepted block carrying it; 0: none yet
	resolved bool   // ordered, dropped by the mempool, or carried by us
}

// relayed takes in what the mempool admitted and dropped since the last call.
func (c *Core) relayed(in TxsRelayed) {
	r := &c.relay
	for _, seq := range in.Dropped {
		for _, f := range r.waiting {
			if f.seq == seq {
				c.resolve(f)
			}
		}
	}
	if c.self < 0 {
		return // we propose nothing, so we neither wait for nor take over anything
	}
	if r.byKey == nil {
		r.byKey, r.seenAt = map[[32]byte]*fallback{}, map[string]time.Time{}
	}
	for _, t := range in.Txs {
		if t.Seq <= r.through {
			continue // a repeat: the numbering only goes up
		}
		r.through = t.Seq
		key := sha256.Sum256(t.Tx)
		if _, dup := r.byKey[key]; dup {
			continue
		}
		f := &fallback{seq: t.Seq, tx: t.Tx, key: key, owner: t.Owner, at: c.now}
		r.waiting = append(r.waiting, f)
		r.byKey[key] = f
	}
}

func (c *Core) resolve(f *fallback) {
	if f.resolved {
		return
	}
	f.resolved = true
	delete(c.relay.byKey, f.key)
}

// relaySeen notes an accepted block: its author is alive, and the relayed transactions it
// carries are in the history of our blocks above its round.
func (c *Core) relaySeen(b *types.Block) {
	r := &c.relay
	if r.seenAt == nil {
		return
	}
	if b.Author >= 0 && b.Author < c.cfg.Epoch.Committee.Size() {
		r.seenAt[string(c.cfg.Epoch.Committee.Validators[b.Author].PubKey)] = c.now
	}
	if len(r.byKey) == 0 {
		return
	}
	for _, tx := range b.Txs {
		if f, ok := r.byKey[sha256.Sum256(tx)]; ok && (f.seenIn == 0 || b.Round < f.seenIn) {
			f.seenIn = b.Round
		}
	}
}

// relayOrdered resolves the relayed transactions a commit ordered.
func (c *Core) relayOrdered(cm order.Commit) {
	if len(c.relay.byKey) == 0 {
		return
	}
	for _, tx := range cm.Txs {
		if f, ok := c.relay.byKey[sha256.Sum256(tx)]; ok {
			c.resolve(f)
		}
	}
}

// relayPlan decides, for our block at round r, which relayed transactions we carry
// ourselves (in Seq order, within the byte and count budget) and up to which Seq the
// relayed transactions are all seen, ordered or carried: our own transactions with a
// barrier at or below it may follow.
func (c *Core) relayPlan(r uint64, maxTxs, maxBytes int) (carry []*fallback, clearThrough uint64) {
	rs := &c.relay
	// Drop the resolved prefix, so the walk below stays short.
	for len(rs.waiting) > 0 && rs.waiting[0].resolved {
		rs.waiting = rs.waiting[1:]
	}
	seen := func(f *fallback) bool { return f.resolved || f.seenIn != 0 && f.seenIn < r }
	// The last fallback that must be carried now: overdue (takeover), or holding back one
	// of our own transactions for longer than RelayWait. Everything unseen before it is
	// carried too, so relayed transactions keep their order among themselves.
	blockingUpTo := uint64(0)
	if c.pending.len() > 0 {
		blockingUpTo = c.pending.barriers[0]
	}
	last := -1
	for i, f := range rs.waiting {
		if seen(f) {
			continue
		}
		age := c.now.Sub(f.at)
		if f.seq <= blockingUpTo && age >= c.cfg.RelayWait || c.overdue(f, age) {
			last = i
		}
	}
	bytes := 0
	for i := 0; i <= last && len(carry) < maxTxs; i++ {
		f := rs.waiting[i]
		if seen(f) {
			continue
		}
		if bytes+len(f.tx) > maxBytes {
			break
		}
		bytes += len(f.tx)
		carry = append(carry, f)
	}
	clearThrough = rs.through
	carried := make(map[*fallback]bool, len(carry))
	for _, f := range carry {
		carried[f] = true
	}
	for _, f := range rs.waiting {
		if !seen(f) && !carried[f] {
			clearThrough = f.seq - 1
			break
		}
	}
	return carry, clearThrough
}

// overdue: a relayed transaction out of the DAG for TakeoverDelay while its owner sent
// nothing for as long, or for 4 × TakeoverDelay.
func (c *Core) overdue(f *fallback, age time.Duration) bool {
	if age < c.cfg.TakeoverDelay {
		return false
	}
	if age >= 4*c.cfg.TakeoverDelay {
		return true
	}
	seen, ok := c.relay.seenAt[string(f.owner)]
	return !ok || c.now.Sub(seen) >= c.cfg.TakeoverDelay
}
