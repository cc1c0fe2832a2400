package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cmtp2p "github.com/cometbft/cometbft/p2p"
)

func TestNodeKeyFileGivesCometBFTID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node_key.json")
	key := newKey()
	if err := key.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadNodeKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ID() != cmtp2p.PubKeyToID(key.PubKey()) || len(loaded.ID()) != 40 {
		t.Fatalf("loaded ID %q, want %q", loaded.ID(), key.ID())
	}
}

func TestParseAddress(t *testing.T) {
	id := newKey().ID()
	a, err := ParseAddress(string(id) + "@127.0.0.1:26656")
	if err != nil || a.ID != id || a.Host != "127.0.0.1:26656" {
		t.Fatalf("parse: %+v, %v", a, err)
	}
	for _, bad := range []string{"127.0.0.1:26656", "zz@127.0.0.1:1", string(id) + "@127.0.0.1", string(id)[:39] + "@127.0.0.1:1"} {
		if _, err := ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) accepted", bad)
		}
	}
}

var exchangeNonce atomic.Uint64

// exchangeOnEveryChannel has every node send one message per channel to
// every other node and checks each arrived once, intact, from the right
// sender.
func exchangeOnEveryChannel(t *testing.T, nodes []*testNode) {
	t.Helper()
	nonce := exchangeNonce.Add(1)
	msg := func(from, to ID, ch ChannelID) []byte {
		return fmt.Appendf(nil, "%d:%s>%s@%x", nonce, from, to, byte(ch))
	}
	for _, n := range nodes {
		for _, ch := range DefaultChannels() {
			for _, to := range nodes {
				if to == n {
					continue
				}
				if err := n.sw.Send(context.Background(), to.sw.ID(), ch.ID, msg(n.sw.ID(), to.sw.ID(), ch.ID)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, to := range nodes {
		for _, from := range nodes {
			if from == to {
				continue
			}
			for _, ch := range DefaultChannels() {
				want := msg(from.sw.ID(), to.sw.ID(), ch.ID)
				eventually(t, 10*time.Second, "message delivered", func() bool {
					return to.rec.count(func(m received) bool {
						return m.from == from.sw.ID() && m.ch == ch.ID && bytes.Equal(m.msg, want)
					}) == 1
				})
			}
		}
	}
}

func TestTwoPeersExchangeOnEveryChannel(t *testing.T) {
	a, b := startNode(t, nil, nil), startNode(t, nil, nil)
	connect(t, a, b)
	exchangeOnEveryChannel(t, []*testNode{a, b})
	if !a.log.contains("peer connected") || !a.log.contains(string(b.sw.ID())) {
		t.Fatal("no INFO line for the connected peer")
	}
}

// TestFourPersistentPeersFormAMesh: four nodes listing each other as
// persistent peers end up fully connected, one link per pair.
func TestFourPersistentPeersFormAMesh(t *testing.T) {
	keys := []*NodeKey{newKey(), newKey(), newKey(), newKey()}
	// Reserve ports first so every node can be given the full peer list.
	nodes := make([]*testNode, 4)
	addrs := make([]string, 4)
	for i := range nodes {
		nodes[i] = startNode(t, keys[i], nil)
		addrs[i] = nodes[i].sw.Address()
	}
	// Persistent peers are read at New, so restart each with the list.
	for i := range nodes {
		nodes[i].sw.Stop()
		listen := nodes[i].sw.ListenAddr()
		nodes[i] = startNode(t, keys[i], func(c *Config) {
			c.ListenAddress = listen
			c.PersistentPeers = addrs
		})
	}
	for _, n := range nodes {
		eventually(t, 10*time.Second, "full mesh", func() bool { return len(n.sw.Peers()) == 3 })
	}
	exchangeOnEveryChannel(t, nodes)
}

func TestWrongIDIsRefusedWithReason(t *testing.T) {
	a, b := startNode(t, nil, nil), startNode(t, nil, nil)
	impostor := newKey().ID()
	err := a.sw.Connect(context.Background(), string(impostor)+"@"+b.sw.ListenAddr())
	var refused *HandshakeError
	if !errors.As(err, &refused) {
		t.Fatalf("connect to wrong ID: %v", err)
	}
	if len(a.sw.Peers()) != 0 {
		t.Fatal("peer with wrong ID was added")
	}
	if !a.log.contains("address names "+string(impostor)) || !a.log.contains(`"level":"warn"`) {
		t.Fatal("refusal not logged with its reason")
	}
}

func TestHandshakeMismatchesAreRefused(t *testing.T) {
	cases := map[string]struct {
		mutate func(*cmtp2p.DefaultNodeInfo)
		reason string
	}{
		"chain id":      {func(i *cmtp2p.DefaultNodeInfo) { i.Network = "other-chain" }, "chain id"},
		"p2p version":   {func(i *cmtp2p.DefaultNodeInfo) { i.ProtocolVersion.P2P++ }, "protocol version"},
		"claimed ID":    {func(i *cmtp2p.DefaultNodeInfo) { i.DefaultNodeID = newKey().ID() }, "node info claims ID"},
		"no channels":   {func(i *cmtp2p.DefaultNodeInfo) { i.Channels = []byte{0x77} }, "no common channels"},
		"empty moniker": {func(i *cmtp2p.DefaultNodeInfo) { i.Moniker = "" }, "invalid node info"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a := startNode(t, nil, nil)
			_, _ = dialRaw(t, a, tc.mutate)
			eventually(t, 5*time.Second, "refusal logged", func() bool { return a.log.contains(tc.reason) })
			if len(a.sw.Peers()) != 0 {
				t.Fatal("mismatched peer was added")
			}
		})
	}
}

// TestSimultaneousDialsKeepOneLink: two nodes dial each other at the same
// moment; both must keep the same single link, the one dialled by the
// lower ID, and keep it.
func TestSimultaneousDialsKeepOneLink(t *testing.T) {
	resolved := 0
	for round := range 5 {
		a, b := startNode(t, nil, nil), startNode(t, nil, nil)
		// Each side starts sending the moment it sees the other, so
		// messages are in flight while the duplicate is resolved; none may
		// be lost or delivered twice.
		const burst = 200
		var senders sync.WaitGroup
		for _, pair := range [][2]*testNode{{a, b}, {b, a}} {
			from, to := pair[0], pair[1]
			from.rec.mu.Lock()
			from.rec.onPeerUp = func(PeerInfo) {
				senders.Add(1)
				go func() {
					defer senders.Done()
					for i := range burst {
						if err := from.sw.Send(context.Background(), to.sw.ID(), ChannelTx, fmt.Appendf(nil, "burst %d", i)); err != nil {
							t.Errorf("burst send %d: %v", i, err)
							return
						}
					}
				}()
			}
			from.rec.mu.Unlock()
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _ = a.sw.Connect(context.Background(), b.sw.Address()) }()
		go func() { defer wg.Done(); _ = b.sw.Connect(context.Background(), a.sw.Address()) }()
		wg.Wait()
		lower := min(a.sw.ID(), b.sw.ID())
		settled := func() bool {
			pa, pb := a.sw.Peers(), b.sw.Peers()
			return len(pa) == 1 && len(pb) == 1 &&
				pa[0].Outbound == (a.sw.ID() == lower) && pb[0].Outbound == (b.sw.ID() == lower)
		}
		eventually(t, 10*time.Second, fmt.Sprintf("round %d: one link, dialled by the lower ID", round), settled)
		time.Sleep(300 * time.Millisecond)
		if !settled() {
			t.Fatalf("round %d: link changed after settling", round)
		}
		senders.Wait()
		for _, n := range []*testNode{a, b} {
			eventually(t, 10*time.Second, "burst delivered", func() bool {
				return n.rec.count(func(m received) bool { return bytes.HasPrefix(m.msg, []byte("burst ")) }) >= burst
			})
			seen := map[string]int{}
			n.rec.count(func(m received) bool { seen[string(m.msg)]++; return false })
			for i := range burst {
				if c := seen[fmt.Sprintf("burst %d", i)]; c != 1 {
					t.Fatalf("round %d: burst message %d delivered %d times", round, i, c)
				}
			}
		}
		exchangeOnEveryChannel(t, []*testNode{a, b})
		a.sw.Stop()
		b.sw.Stop()
		for _, n := range []*testNode{a, b} {
			if n.log.contains("duplicate peer connection refused") || n.log.contains("replaced by duplicate") {
				resolved++
			}
		}
	}
	// Both dials start together, so most rounds really race; the rule must
	// have had to act at least once for this test to mean anything.
	if resolved == 0 {
		t.Fatal("no round produced two links to resolve")
	}
	t.Logf("duplicates resolved on %d of 10 node sides", resolved)
}

func TestKeepNewLinkRule(t *testing.T) {
	const low, high ID = "0a", "0b"
	out, in := &link{outbound: true}, &link{outbound: false}
	// On the low node: outbound is dialled by low and must win either way.
	if keepNewLink(out, in, low, high) || !keepNewLink(in, out, low, high) {
		t.Fatal("low node must keep its own dial")
	}
	// On the high node: inbound is dialled by low and must win either way.
	if !keepNewLink(out, in, high, low) || keepNewLink(in, out, high, low) {
		t.Fatal("high node must keep the low node's dial")
	}
	if !keepNewLink(in, &link{outbound: false}, low, high) {
		t.Fatal("a redial by the same node replaces its old link")
	}
}

func TestPersistentPeerReconnectsAfterRestart(t *testing.T) {
	bKey := newKey()
	b := startNode(t, bKey, nil)
	bAddr, bListen := b.sw.Address(), b.sw.ListenAddr()
	a := startNode(t, nil, func(c *Config) { c.PersistentPeers = []string{bAddr} })
	eventually(t, 5*time.Second, "initial connection", func() bool { return hasPeer(a.sw, bKey.ID()) })

	b.sw.Stop()
	eventually(t, 5*time.Second, "A notices B is gone", func() bool { return !hasPeer(a.sw, bKey.ID()) })
	// Let a few redials fail so the backoff grows to its cap.
	time.Sleep(time.Second)
	restarted := time.Now()
	b2 := startNode(t, bKey, func(c *Config) { c.ListenAddress = bListen })
	// Bound: one capped backoff (RedialMax) plus dial and handshake.
	eventually(t, testConfig().RedialMax+3*time.Second, "reconnect within the backoff bound", func() bool {
		return hasPeer(a.sw, bKey.ID()) && hasPeer(b2.sw, a.sw.ID())
	})
	t.Logf("reconnected %v after restart", time.Since(restarted))
	exchangeOnEveryChannel(t, []*testNode{a, b2})
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	sw, err := New(testConfig(), newKey(), Handlers{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	for failures := range 12 {
		d := sw.backoff(failures)
		ceiling := min(cfg.RedialMin<<failures, cfg.RedialMax)
		if d < ceiling/2 || d > ceiling {
			t.Fatalf("backoff(%d) = %v, want within [%v, %v]", failures, d, ceiling/2, ceiling)
		}
	}
}

func TestBackoffJitterIsSeeded(t *testing.T) {
	cfg := testConfig()
	cfg.JitterSeed = 42
	one, _ := New(cfg, newKey(), Handlers{}, discardLogger())
	two, _ := New(cfg, newKey(), Handlers{}, discardLogger())
	cfg.JitterSeed = 43
	other, _ := New(cfg, newKey(), Handlers{}, discardLogger())
	differs := false
	for failures := range 8 {
		a, b, c := one.backoff(failures), two.backoff(failures), other.backoff(failures)
		if a != b {
			t.Fatalf("same seed, backoff(%d): %v vs %v", failures, a, b)
		}
		differs = differs || a != c
	}
	if !differs {
		t.Fatal("different seeds gave the same jitter")
	}
}

func TestInboundLimit(t *testing.T) {
	a := startNode(t, nil, func(c *Config) { c.MaxInboundPeers = 1 })
	b, c := startNode(t, nil, nil), startNode(t, nil, nil)
	connect(t, b, a)
	_ = c.sw.Connect(context.Background(), a.sw.Address())
	eventually(t, 5*time.Second, "refusal logged", func() bool { return a.log.contains("inbound limit") })
	eventually(t, 5*time.Second, "refused peer notices", func() bool { return !hasPeer(c.sw, a.sw.ID()) })
	if peers := a.sw.Peers(); len(peers) != 1 || peers[0].ID != b.sw.ID() {
		t.Fatalf("peers of limited node: %+v", peers)
	}
	// An outbound dial is not limited.
	connect(t, a, c)
}

func TestMetricsCountMessagesAndBytes(t *testing.T) {
	a, b := startNode(t, nil, nil), startNode(t, nil, nil)
	connect(t, a, b)
	for i := range 10 {
		if err := a.sw.Send(context.Background(), b.sw.ID(), ChannelTx, make([]byte, 100+i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "all received", func() bool { return b.rec.count(func(received) bool { return true }) == 10 })
	eventually(t, 5*time.Second, "sender counters", func() bool {
		m := a.sw.Metrics()
		return len(m.Peers) == 1 && m.Peers[0].Channels[ChannelTx].MsgsSent == 10
	})
	sent := a.sw.Metrics().Peers[0].Channels[ChannelTx]
	got := b.sw.Metrics().Peers[0].Channels[ChannelTx]
	const wantBytes = 10*100 + 45
	if sent.BytesSent != wantBytes || got.MsgsRecv != 10 || got.BytesRecv != wantBytes || sent.QueueMsgs != 0 || sent.QueueBytes != 0 {
		t.Fatalf("sender %+v receiver %+v", sent, got)
	}
	if tot := b.sw.Metrics().Totals[ChannelTx]; tot.MsgsRecv != 10 {
		t.Fatalf("totals %+v", tot)
	}
}

func TestSendErrors(t *testing.T) {
	a, b := startNode(t, nil, nil), startNode(t, nil, nil)
	connect(t, a, b)
	ctx := context.Background()
	if err := a.sw.Send(ctx, newKey().ID(), ChannelTx, []byte("x")); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("unknown peer: %v", err)
	}
	if err := a.sw.Send(ctx, b.sw.ID(), 0x99, []byte("x")); !errors.Is(err, ErrUnknownChannel) {
		t.Errorf("unknown channel: %v", err)
	}
	if err := a.sw.Send(ctx, b.sw.ID(), ChannelTx, make([]byte, 1<<20+1)); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if a.sw.TrySend(b.sw.ID(), 0x99, nil) || a.sw.Broadcast(ChannelTx, []byte("x")) != 1 {
		t.Error("TrySend/Broadcast results")
	}
}

// TestStopLeavesNoGoroutines: three connected switches with traffic, then
// Stop: every goroutine they started is gone.
func TestStopLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	var nodes []*testNode
	for range 3 {
		nodes = append(nodes, startNode(t, nil, nil))
	}
	connect(t, nodes[0], nodes[1])
	connect(t, nodes[1], nodes[2])
	connect(t, nodes[2], nodes[0])
	exchangeOnEveryChannel(t, nodes)
	for _, n := range nodes {
		n.sw.Stop()
		if len(n.sw.Peers()) != 0 {
			t.Fatal("peers left after Stop")
		}
	}
	for _, n := range nodes {
		if got := n.rec.downCount(nodes[0].sw.ID()) + n.rec.downCount(nodes[1].sw.ID()) + n.rec.downCount(nodes[2].sw.ID()); got != 2 {
			t.Fatalf("%d PeerDown notifications, want 2", got)
		}
	}
	eventually(t, 5*time.Second, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= before })
}

// TrySendWritten's channel closes once the message is on the connection: behind a backlog
// of other messages, and not before the peer can read it.
func TestTrySendWrittenClosesOnceOnTheConnection(t *testing.T) {
	a, b := startNode(t, nil, nil), startNode(t, nil, nil)
	connect(t, a, b)
	for i := range 50 {
		if !a.sw.TrySend(b.sw.ID(), ChannelTx, make([]byte, 16<<10+i)) {
			t.Fatal("backlog refused")
		}
	}
	written, ok := a.sw.TrySendWritten(b.sw.ID(), ChannelTx, []byte("tracked"))
	if !ok {
		t.Fatal("refused")
	}
	select {
	case <-written:
	case <-time.After(5 * time.Second):
		t.Fatal("never reported written")
	}
	eventually(t, 5*time.Second, "the tracked message", func() bool {
		return b.rec.count(func(m received) bool { return string(m.msg) == "tracked" }) == 1
	})
	if _, ok := a.sw.TrySendWritten(newKey().ID(), ChannelTx, []byte("x")); ok {
		t.Fatal("an unknown peer took a message")
	}
}
