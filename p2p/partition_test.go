package p2p

import (
	"testing"
	"time"

	"github.com/tutti-bft/tutti/p2p/faultproxy"
)

// fastFailure makes dead links noticed within about a second.
func fastFailure(c *Config) {
	c.PingInterval = 150 * time.Millisecond
	c.ReadTimeout = time.Second
	c.HandshakeTimeout = time.Second
}

// linkedThroughProxy starts B, a proxy in front of it, and A with B (at the
// proxy's address) as persistent peer.
func linkedThroughProxy(t *testing.T) (a, b *testNode, proxy *faultproxy.Proxy) {
	t.Helper()
	b = startNode(t, nil, fastFailure)
	proxy, err := faultproxy.New("127.0.0.1:0", b.sw.ListenAddr(), 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	a = startNode(t, nil, func(c *Config) {
		fastFailure(c)
		c.PersistentPeers = []string{string(b.sw.ID()) + "@" + proxy.Addr()}
	})
	eventually(t, 5*time.Second, "linked through the proxy", func() bool {
		return hasPeer(a.sw, b.sw.ID()) && hasPeer(b.sw, a.sw.ID())
	})
	return a, b, proxy
}

func TestPartitionIsDetectedAndHeals(t *testing.T) {
	for name, dir := range map[string]func(*faultproxy.Proxy){
		"both ways":   func(p *faultproxy.Proxy) { p.SetBoth(faultproxy.Shape{BlackHole: true}) },
		"A to B only": func(p *faultproxy.Proxy) { p.Set(faultproxy.Forward, faultproxy.Shape{BlackHole: true}) },
		"B to A only": func(p *faultproxy.Proxy) { p.Set(faultproxy.Backward, faultproxy.Shape{BlackHole: true}) },
	} {
		t.Run(name, func(t *testing.T) {
			a, b, proxy := linkedThroughProxy(t)
			exchangeOnEveryChannel(t, []*testNode{a, b})
			dir(proxy)
			eventually(t, 10*time.Second, "partition seen by both", func() bool {
				return !hasPeer(a.sw, b.sw.ID()) && !hasPeer(b.sw, a.sw.ID())
			})
			// While partitioned, redials cannot complete a handshake.
			time.Sleep(1500 * time.Millisecond)
			if hasPeer(a.sw, b.sw.ID()) {
				t.Fatal("connected through a partition")
			}
			proxy.Heal()
			eventually(t, 10*time.Second, "reconnected after heal", func() bool {
				return hasPeer(a.sw, b.sw.ID()) && hasPeer(b.sw, a.sw.ID())
			})
			exchangeOnEveryChannel(t, []*testNode{a, b})
		})
	}
}

func TestCutLinkIsRedialled(t *testing.T) {
	a, b, proxy := linkedThroughProxy(t)
	proxy.Cut()
	eventually(t, 5*time.Second, "cut seen", func() bool { return a.rec.downCount(b.sw.ID()) == 1 })
	eventually(t, 5*time.Second, "redialled", func() bool { return hasPeer(a.sw, b.sw.ID()) && hasPeer(b.sw, a.sw.ID()) })
	exchangeOnEveryChannel(t, []*testNode{a, b})
}

// TestDelayedLinkStillDelivers: 50 ms each way through the proxy.
func TestDelayedLinkStillDelivers(t *testing.T) {
	a, b, proxy := linkedThroughProxy(t)
	proxy.SetBoth(faultproxy.Shape{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond})
	start := time.Now()
	if !a.sw.TrySend(b.sw.ID(), ChannelConsensus, []byte("slow")) {
		t.Fatal("send refused")
	}
	eventually(t, 5*time.Second, "delivered", func() bool { return b.rec.count(func(m received) bool { return string(m.msg) == "slow" }) == 1 })
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Fatalf("delivered in %v through a 50 ms link", took)
	}
}
