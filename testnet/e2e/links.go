package e2e

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/tutti-bft/tutti/p2p/faultproxy"
)

// links holds one fault proxy per ordered pair of nodes: node a dials node b at
// links.proxy[a][b] (its persistent_peers say so), so every byte between two nodes crosses
// exactly one proxy, which the runner shapes to partition or delay that link.
type links struct {
	names   []string
	proxy   map[string]map[string]*faultproxy.Proxy
	side    map[string]int           // partition side of each node; all 0 when healed
	delay   map[string]time.Duration // added on every link of a node, each way
	blocked map[[2]string]bool       // links currently partitioned
}

// newLinks starts the proxies. p2pAddr gives each node's listen address; twins (same
// keys) are never linked to each other: a node does not dial its own identity.
func newLinks(names []string, p2pAddr func(string) string, twinOf func(string) string) (*links, error) {
	l := &links{names: names, proxy: map[string]map[string]*faultproxy.Proxy{}, side: map[string]int{},
		delay: map[string]time.Duration{}, blocked: map[[2]string]bool{}}
	for _, a := range names {
		l.proxy[a] = map[string]*faultproxy.Proxy{}
		for _, b := range names {
			if a == b || twinOf(a) == twinOf(b) {
				continue
			}
			h := fnv.New64a()
			fmt.Fprintf(h, "%s>%s", a, b)
			p, err := faultproxy.New("127.0.0.1:0", p2pAddr(b), h.Sum64())
			if err != nil {
				l.close()
				return nil, fmt.Errorf("e2e: proxy %s->%s: %w", a, b, err)
			}
			l.proxy[a][b] = p
		}
	}
	return l, nil
}

// peersOf lists the nodes a dials, with the proxy address to dial each at.
func (l *links) peersOf(a string) map[string]string {
	out := map[string]string{}
	for b, p := range l.proxy[a] {
		out[b] = p.Addr()
	}
	return out
}

// partition puts each group on its own side and every node in no group alone on one
// more; nodes on different sides lose their links (connections cut, new ones refused).
func (l *links) partition(groups [][]string) {
	l.side = map[string]int{}
	for i, g := range groups {
		for _, n := range g {
			l.side[n] = i + 1
		}
	}
	next := len(groups) + 1
	for _, n := range l.names {
		if l.side[n] == 0 {
			l.side[n] = next
			next++
		}
	}
	l.apply()
}

// heal joins every side again.
func (l *links) heal() {
	l.side = map[string]int{}
	l.apply()
}

// setDelay adds d (0 removes it) to every link of node n.
func (l *links) setDelay(n string, d time.Duration) {
	l.delay[n] = d
	l.apply()
}

// apply shapes every proxy after the current sides and delays.
func (l *links) apply() {
	for a, row := range l.proxy {
		for b, p := range row {
			key := [2]string{a, b}
			if l.side[a] != l.side[b] {
				if !l.blocked[key] {
					p.Refuse(true)
					p.SetBoth(faultproxy.Shape{BlackHole: true})
					p.Cut()
					l.blocked[key] = true
				}
				continue
			}
			l.blocked[key] = false
			p.Refuse(false)
			p.SetBoth(faultproxy.Shape{Delay: l.delay[a] + l.delay[b]})
		}
	}
}

func (l *links) close() {
	for _, row := range l.proxy {
		for _, p := range row {
			_ = p.Close()
		}
	}
}
