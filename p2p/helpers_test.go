package p2p

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/conn"
	"github.com/rs/zerolog"
)

const testChain = "tutti-test"

// testConfig is tuned for loopback under -race on two shared cores: short
// backoffs and keepalives, generous timeouts.
func testConfig() Config {
	cfg := DefaultConfig(testChain)
	cfg.ListenAddress = "127.0.0.1:0"
	cfg.PingInterval = 200 * time.Millisecond
	cfg.ReadTimeout = 3 * time.Second
	cfg.WriteTimeout = 5 * time.Second
	cfg.DialTimeout = 3 * time.Second
	cfg.HandshakeTimeout = 3 * time.Second
	cfg.RedialMin = 20 * time.Millisecond
	cfg.RedialMax = 300 * time.Millisecond
	return cfg
}

type received struct {
	from ID
	ch   ChannelID
	msg  []byte
	at   time.Time
}

// recorder keeps what a switch delivered, for assertions.
type recorder struct {
	mu    sync.Mutex
	msgs  []received
	ups   []PeerInfo
	downs []ID
	// onReceive, when set, runs on the reader goroutine after recording;
	// onPeerUp likewise in the PeerUp callback.
	onReceive func(received)
	onPeerUp  func(PeerInfo)
}

func (r *recorder) handlers() Handlers {
	return Handlers{
		Receive: func(from ID, ch ChannelID, msg []byte) {
			m := received{from: from, ch: ch, msg: msg, at: time.Now()}
			r.mu.Lock()
			r.msgs = append(r.msgs, m)
			hook := r.onReceive
			r.mu.Unlock()
			if hook != nil {
				hook(m)
			}
		},
		PeerUp: func(p PeerInfo) {
			r.mu.Lock()
			r.ups = append(r.ups, p)
			hook := r.onPeerUp
			r.mu.Unlock()
			if hook != nil {
				hook(p)
			}
		},
		PeerDown: func(id ID, _ error) {
			r.mu.Lock()
			r.downs = append(r.downs, id)
			r.mu.Unlock()
		},
	}
}

func (r *recorder) count(match func(received) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if match(m) {
			n++
		}
	}
	return n
}

func (r *recorder) downCount(id ID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, d := range r.downs {
		if d == id {
			n++
		}
	}
	return n
}

// syncBuffer is a log sink tests can read while switches write to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.buf.String(), s)
}

type testNode struct {
	sw  *Switch
	rec *recorder
	key *NodeKey
	log *syncBuffer
}

func newKey() *NodeKey { return &NodeKey{PrivKey: ed25519.GenPrivKey()} }

// startNode starts a switch on a free loopback port; the test stops it.
func startNode(t testing.TB, key *NodeKey, mutate func(*Config)) *testNode {
	t.Helper()
	if key == nil {
		key = newKey()
	}
	cfg := testConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	n := &testNode{rec: &recorder{}, key: key, log: &syncBuffer{}}
	sw, err := New(cfg, key, n.rec.handlers(), zerolog.New(n.log))
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sw.Stop)
	n.sw = sw
	return n
}

func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hasPeer(sw *Switch, id ID) bool { return sw.peer(id) != nil }

func connect(t testing.TB, from, to *testNode) {
	t.Helper()
	if err := from.sw.Connect(context.Background(), to.sw.Address()); err != nil {
		t.Fatalf("connect: %v", err)
	}
	eventually(t, 5*time.Second, "both ends see the link", func() bool {
		return hasPeer(from.sw, to.sw.ID()) && hasPeer(to.sw, from.sw.ID())
	})
}

// rawPeer is a hand-driven peer: it authenticates and sends node info like a
// switch would (edited by mutate) and then lets the test write anything.
type rawPeer struct {
	sc  *conn.SecretConnection
	raw net.Conn
	id  ID
}

func dialRaw(t testing.TB, target *testNode, mutate func(*cmtp2p.DefaultNodeInfo)) (*rawPeer, error) {
	t.Helper()
	key := newKey()
	info := target.sw.info
	info.DefaultNodeID = key.ID()
	info.ListenAddr = "127.0.0.1:1"
	info.Moniker = "raw"
	if mutate != nil {
		mutate(&info)
	}
	raw, err := net.DialTimeout("tcp", target.sw.ListenAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	sc, _, err := handshake(&progressConn{Conn: raw}, key, info, target.sw.ID(), 5*time.Second)
	return &rawPeer{sc: sc, raw: raw, id: key.ID()}, err
}

func discardLogger() zerolog.Logger { return zerolog.Nop() }

func testNodeInfo(id ID) cmtp2p.DefaultNodeInfo {
	return cmtp2p.DefaultNodeInfo{
		ProtocolVersion: cmtp2p.NewProtocolVersion(P2PVersion, BlockVersion, 0),
		DefaultNodeID:   id, ListenAddr: "127.0.0.1:26656", Network: testChain,
		Version: "test", Channels: []byte{byte(ChannelConsensus)}, Moniker: "m",
	}
}
