// Package check holds the safety and liveness properties every run of Tutti is judged by,
// in the simulator and in the end-to-end runner alike. Each property has an ID used in
// reports:
//
//	S1 agreement      every honest node holds the same block hash at every height, so every
//	                  honest log is a prefix of the longest
//	S2 slot integrity no slot is ordered twice and no honest validator signs two blocks for
//	                  one slot; no transaction is committed twice
//	S3 no rollback    a node's log after a restart extends its log from before the crash
//	S4 durability     every acknowledged transaction is committed once the network heals
//	S5 app agreement  the app hash after each height is equal on every honest node
//	S6 ledger         total supply is constant (ledger app)
//	S7 validity       only submitted transactions are committed
//	O1 client order   a client's transaction sent to a node that already held (relayed)
//	                  the client's previous one is committed after it
//	T1 block time     no block is stamped further ahead of every honest clock than the
//	                  forward drift bound when it executes (PROTOCOL.md §4.2)
//	L1 liveness       height advances and submitted transactions commit within a bound
//	                  once the network is healed and 2f+1 honest nodes are up
package check

import (
	"bytes"
	"fmt"
	"sort"
	"time"
)

// Violation is one broken property.
type Violation struct {
	Property string // S1..S7, L1, or the name of a runtime check
	Detail   string
}

func (v Violation) String() string { return v.Property + ": " + v.Detail }

// Block is what a checker needs of one executed height.
type Block struct {
	Height  int64
	Hash    []byte
	AppHash []byte // after executing this height
	Txs     [][]byte
}

// NodeLog is one honest node's executed chain, kept across its restarts.
type NodeLog struct {
	Node   string
	Blocks []Block // Blocks[i] has height i+1
	txs    map[string]int64
	index  map[string]int // a transaction's place within its block
}

// Append adds an executed height. Executing a height again after a restart is allowed
// only if it is the same block with the same result (S3); a transaction seen at an earlier
// height breaks S2.
func (l *NodeLog) Append(b Block) *Violation {
	if b.Height <= int64(len(l.Blocks)) {
		prev := l.Blocks[b.Height-1]
		if !bytes.Equal(prev.Hash, b.Hash) || !bytes.Equal(prev.AppHash, b.AppHash) {
			return &Violation{"S3", fmt.Sprintf("%s re-executed height %d as %X (app %X), before the restart it was %X (app %X)",
				l.Node, b.Height, b.Hash, b.AppHash, prev.Hash, prev.AppHash)}
		}
		return nil
	}
	if b.Height != int64(len(l.Blocks))+1 {
		return &Violation{"S3", fmt.Sprintf("%s executed height %d after height %d", l.Node, b.Height, len(l.Blocks))}
	}
	if l.txs == nil {
		l.txs, l.index = map[string]int64{}, map[string]int{}
	}
	for i, tx := range b.Txs {
		if h, dup := l.txs[string(tx)]; dup {
			return &Violation{"S2", fmt.Sprintf("%s committed tx %q at heights %d and %d", l.Node, tx, h, b.Height)}
		}
		l.txs[string(tx)], l.index[string(tx)] = b.Height, i
	}
	l.Blocks = append(l.Blocks, b)
	return nil
}

// Height is the last executed height.
func (l *NodeLog) Height() int64 { return int64(len(l.Blocks)) }

// Has reports whether the log committed tx.
func (l *NodeLog) Has(tx []byte) bool {
	_, ok := l.txs[string(tx)]
	return ok
}

// before reports whether the log committed a before b (both committed).
func (l *NodeLog) before(a, b string) (earlier, both bool) {
	ha, okA := l.txs[a]
	hb, okB := l.txs[b]
	if !okA || !okB {
		return false, false
	}
	return ha < hb || ha == hb && l.index[a] < l.index[b], true
}

// OrderedPair is two transactions of one client: Later was sent after Earlier was
// acknowledged, to a node that already held Earlier.
type OrderedPair struct{ Earlier, Later string }

// ClientOrder checks O1: in every log that committed both transactions of a pair, the
// earlier one comes first. It reports the first pair out of order and how many are.
func ClientOrder(logs []*NodeLog, pairs []OrderedPair) []Violation {
	var first string
	flipped := 0
	for _, p := range pairs {
		for _, l := range logs {
			if earlier, both := l.before(p.Earlier, p.Later); both && !earlier {
				if flipped == 0 {
					first = fmt.Sprintf("%s committed %q (height %d) after %q (height %d), which its client sent later",
						l.Node, p.Earlier, l.txs[p.Earlier], p.Later, l.txs[p.Later])
				}
				flipped++
				break
			}
		}
	}
	if flipped == 0 {
		return nil
	}
	return []Violation{{"O1", fmt.Sprintf("%d of %d pairs out of order; first: %s", flipped, len(pairs), first)}}
}

// Agreement checks S1 and S5 over honest logs: at every height, one block hash and one
// app hash. It reports the first disagreeing height only, since later ones follow from it.
func Agreement(logs []*NodeLog) []Violation {
	sorted := append([]*NodeLog(nil), logs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Height() > sorted[j].Height() })
	if len(sorted) == 0 {
		return nil
	}
	longest := sorted[0]
	var out []Violation
	for _, l := range sorted[1:] {
		for i, b := range l.Blocks {
			ref := longest.Blocks[i]
			if !bytes.Equal(b.Hash, ref.Hash) {
				out = append(out, Violation{"S1", fmt.Sprintf("height %d: %s has block %X, %s has %X",
					b.Height, l.Node, b.Hash, longest.Node, ref.Hash)})
				break
			}
			if !bytes.Equal(b.AppHash, ref.AppHash) {
				out = append(out, Violation{"S5", fmt.Sprintf("height %d: %s has app hash %X, %s has %X",
					b.Height, l.Node, b.AppHash, longest.Node, ref.AppHash)})
				break
			}
		}
	}
	return out
}

// Durability checks S4: every acknowledged transaction not excused is in the longest
// honest log.
func Durability(logs []*NodeLog, acked []string, excused map[string]bool) []Violation {
	var longest *NodeLog
	for _, l := range logs {
		if longest == nil || l.Height() > longest.Height() {
			longest = l
		}
	}
	var missing []string
	for _, tx := range acked {
		if excused[tx] || (longest != nil && longest.Has([]byte(tx))) {
			continue
		}
		missing = append(missing, tx)
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return []Violation{{"S4", fmt.Sprintf("%d acknowledged transactions never committed, first %q", len(missing), missing[0])}}
}

// BlockTime checks T1 for one height as a node executes it: its time is at most drift
// ahead of the latest honest clock reading now. (Block time can trail honest clocks
// without bound when commits stall, so only the forward side is a property.)
func BlockTime(node string, height int64, at time.Time, honestClocks []time.Time, drift time.Duration) *Violation {
	if len(honestClocks) == 0 {
		return nil
	}
	latest := honestClocks[0]
	for _, c := range honestClocks[1:] {
		if c.After(latest) {
			latest = c
		}
	}
	if ahead := at.Sub(latest); ahead > drift {
		return &Violation{"T1", fmt.Sprintf("%s executed height %d stamped %v, %v ahead of the latest honest clock (bound %v)",
			node, height, at.UTC().Format(time.RFC3339Nano), ahead, drift)}
	}
	return nil
}

// Liveness checks L1: after the heal, every honest node that is up executed at least
// minNew new heights and reached within maxLag of the top.
func Liveness(logs []*NodeLog, heightAtHeal map[string]int64, minNew, maxLag int64) []Violation {
	now := make(map[string]int64, len(logs))
	for _, l := range logs {
		now[l.Node] = l.Height()
	}
	return LivenessAt(logs, heightAtHeal, now, minNew, maxLag)
}

// LivenessAt is Liveness judged on the heights the logs had at a given moment
// (heightAtEnd), not now: the simulator judges it at the end of the run's duration, before
// any drain.
func LivenessAt(logs []*NodeLog, heightAtHeal, heightAtEnd map[string]int64, minNew, maxLag int64) []Violation {
	var top int64
	for _, l := range logs {
		top = max(top, heightAtEnd[l.Node])
	}
	var out []Violation
	for _, l := range logs {
		h := heightAtEnd[l.Node]
		if grew := h - heightAtHeal[l.Node]; grew < minNew {
			out = append(out, Violation{"L1", fmt.Sprintf("%s executed %d heights after the network healed (at %d), want at least %d",
				l.Node, grew, heightAtHeal[l.Node], minNew)})
		} else if top-h > maxLag {
			out = append(out, Violation{"L1", fmt.Sprintf("%s is at height %d, %d behind the top", l.Node, h, top-h)})
		}
	}
	return out
}
