package p2p

import (
	"context"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/protoio"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/conn"
	tmp2p "github.com/cometbft/cometbft/proto/tendermint/p2p"
)

// CometBFT v0.38 reports p2p 8 and block 11; clients read them from status.
func TestNodeInfoReportsCometBFTProtocolVersions(t *testing.T) {
	a := startNode(t, nil, func(c *Config) { c.AppVersion = 7 })
	got := a.sw.NodeInfo().ProtocolVersion
	if got.P2P != 8 || got.Block != 11 || got.App != 7 {
		t.Fatalf("protocol_version %+v, want p2p 8, block 11, app 7", got)
	}
}

// TestNodeInfoCarriedInHandshake: what a peer shows of a node is everything
// the node says of itself, and its listen address is CometBFT's form, scheme
// included, with the port the listener took.
func TestNodeInfoCarriedInHandshake(t *testing.T) {
	a := startNode(t, nil, func(c *Config) {
		c.Moniker, c.Version, c.AppVersion = "alpha", "0.38.17", 3
		c.TxIndex, c.RPCAddress = "off", "tcp://127.0.0.1:26657"
	})
	b := startNode(t, nil, nil)
	connect(t, b, a)

	info := a.sw.NodeInfo()
	_, port, _ := net.SplitHostPort(a.sw.ListenAddr())
	if want := "tcp://127.0.0.1:" + port; info.ListenAddr != want {
		t.Errorf("listen_addr %q, want %q", info.ListenAddr, want)
	}
	if info.Other.TxIndex != "off" || info.Other.RPCAddress != "tcp://127.0.0.1:26657" || info.Version != "0.38.17" ||
		info.Moniker != "alpha" || len(info.Channels) != 3 {
		t.Errorf("node info %+v", info)
	}
	peers := b.sw.Peers()
	if len(peers) != 1 {
		t.Fatalf("peers %+v", peers)
	}
	if !reflect.DeepEqual(peers[0].NodeInfo, info) {
		t.Errorf("peer's view of the node info\n%+v\nthe node's own\n%+v", peers[0].NodeInfo, info)
	}
	if peers[0].ListenAddr != info.ListenAddr || peers[0].Moniker != "alpha" {
		t.Errorf("peer info %+v", peers[0])
	}
}

func TestExternalAddressIsAdvertised(t *testing.T) {
	a := startNode(t, nil, func(c *Config) { c.ExternalAddress = "tcp://203.0.113.7:26656" })
	if got := a.sw.NodeInfo().ListenAddr; got != "tcp://203.0.113.7:26656" {
		t.Fatalf("listen_addr %q, want the external address", got)
	}
	// Peers still reach it where it listens.
	b := startNode(t, nil, nil)
	connect(t, b, a)
}

func TestAdvertisedAddrKeepsConfiguredHost(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv6zero, Port: 4242}
	for configured, want := range map[string]string{
		"0.0.0.0:0":     "0.0.0.0:4242",
		"127.0.0.1:0":   "127.0.0.1:4242",
		":0":            "[::]:4242",
		"[::1]:26656":   "[::1]:4242",
		"localhost:123": "localhost:4242",
	} {
		if got := advertisedAddr(configured, bound); got != want {
			t.Errorf("advertisedAddr(%q) = %q, want %q", configured, got, want)
		}
	}
}

func TestInvalidNodeInfoFailsStart(t *testing.T) {
	cfg := testConfig()
	cfg.TxIndex = "maybe"
	sw, err := New(cfg, newKey(), Handlers{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Stop()
	if err := sw.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "TxIndex") {
		t.Fatalf("start with tx_index %q: %v", cfg.TxIndex, err)
	}
}

// dialWire handshakes with target like a switch, but sends the given wire
// version (0: none, as a CometBFT node sends).
func dialWire(t *testing.T, target *testNode, wire uint64) {
	t.Helper()
	key := newKey()
	info := target.sw.info
	info.DefaultNodeID, info.Moniker = key.ID(), "raw"
	raw, err := net.DialTimeout("tcp", target.sw.ListenAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	sc, err := conn.MakeSecretConnection(raw, key.PrivKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeNodeInfo(sc, info, wire); err != nil {
		t.Fatal(err)
	}
}

func TestPeerWithoutTuttiWireVersionIsRefused(t *testing.T) {
	for wire, reason := range map[uint64]string{0: "no Tutti wire version", WireVersion + 1: "Tutti wire version 2, ours is 1"} {
		a := startNode(t, nil, nil)
		dialWire(t, a, wire)
		eventually(t, 5*time.Second, "refusal logged: "+reason, func() bool { return a.log.contains(reason) })
		if len(a.sw.Peers()) != 0 {
			t.Fatalf("peer with wire version %d was added", wire)
		}
	}
}

// The wire version field is one CometBFT's decoder skips: a CometBFT node
// reads Tutti's handshake message as plain node info (and then refuses or
// fails on the frames, which are not its packets).
func TestWireVersionFieldIsSkippedByNodeInfoDecoder(t *testing.T) {
	info := testNodeInfo(newKey().ID())
	var buf strings.Builder
	if err := writeNodeInfo(&buf, info, WireVersion); err != nil {
		t.Fatal(err)
	}
	got, wire, err := readNodeInfo(strings.NewReader(buf.String()))
	if err != nil || wire != WireVersion || !reflect.DeepEqual(got, info) {
		t.Fatalf("read back %+v wire %d: %v", got, wire, err)
	}
	// As CometBFT's transport reads it.
	var pb tmp2p.DefaultNodeInfo
	if _, err := protoio.NewDelimitedReader(strings.NewReader(buf.String()), cmtp2p.MaxNodeInfoSize()).ReadMsg(&pb); err != nil {
		t.Fatalf("CometBFT's reader: %v", err)
	}
	if theirs, err := cmtp2p.DefaultNodeInfoFromToProto(&pb); err != nil || !reflect.DeepEqual(theirs, info) {
		t.Fatalf("CometBFT reads %+v: %v", theirs, err)
	}
	buf.Reset()
	if err := writeNodeInfo(&buf, info, 0); err != nil {
		t.Fatal(err)
	}
	if _, wire, err := readNodeInfo(strings.NewReader(buf.String())); err != nil || wire != 0 {
		t.Fatalf("without the field: wire %d, %v", wire, err)
	}
}

// TestConnectionStatusMeasuresTheLink: net_info's connection status comes
// from what the link carried.
func TestConnectionStatusMeasuresTheLink(t *testing.T) {
	a, b := startNode(t, nil, nil), startNode(t, nil, nil)
	connect(t, a, b)
	if _, ok := a.sw.ConnectionStatus(newKey().ID()); ok {
		t.Fatal("status of a peer that is not connected")
	}
	const n, size = 20, 1000
	for range n {
		if err := a.sw.Send(context.Background(), b.sw.ID(), ChannelTx, make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "all received", func() bool { return b.rec.count(func(received) bool { return true }) == n })

	// The monitors count bytes by samples of 100 ms (CometBFT's): what was
	// sent shows once its sample closes.
	var sent, got conn.ConnectionStatus
	eventually(t, 5*time.Second, "the monitors count what was sent", func() bool {
		var ok1, ok2 bool
		sent, ok1 = a.sw.ConnectionStatus(b.sw.ID())
		got, ok2 = b.sw.ConnectionStatus(a.sw.ID())
		return ok1 && ok2 && sent.SendMonitor.Bytes >= n*size && got.RecvMonitor.Bytes >= n*size
	})
	if sent.Duration <= 0 || !sent.SendMonitor.Active || sent.SendMonitor.Start.IsZero() || sent.SendMonitor.PeakRate <= 0 {
		t.Errorf("sender's status %+v", sent)
	}
	if got.Duration <= 0 || got.RecvMonitor.PeakRate <= 0 {
		t.Errorf("receiver's status %+v", got)
	}
	var want []conn.ChannelStatus
	for _, ch := range DefaultChannels() {
		want = append(want, conn.ChannelStatus{ID: byte(ch.ID), SendQueueCapacity: ch.SendQueueBytes, Priority: ch.Priority})
	}
	want[2].RecentlySent = sent.Channels[2].RecentlySent
	if !reflect.DeepEqual(sent.Channels, want) {
		t.Errorf("channels %+v, want %+v", sent.Channels, want)
	}
	// At most n*size, less only by the decays since the sends.
	if r := sent.Channels[2].RecentlySent; r <= 0 || r > n*size {
		t.Errorf("tx channel recently sent %d after %d bytes", r, n*size)
	}
}

func TestQueueStatusAndRecentDecay(t *testing.T) {
	channels := []ChannelDesc{
		{ID: ChannelTx, Priority: 1, MaxMsgBytes: 100, SendQueueBytes: 300},
		{ID: ChannelConsensus, Priority: 3, MaxMsgBytes: 100, SendQueueBytes: 200},
	}
	q := newSendQueues(channels, newStatsSet(channels, nil))
	gen := q.attach()
	for range 3 {
		if ok, err := q.tryPush(ChannelTx, make([]byte, 40)); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if _, ok, _ := q.take(gen); !ok {
		t.Fatal("nothing to take")
	}
	want := []conn.ChannelStatus{
		{ID: byte(ChannelTx), SendQueueCapacity: 300, SendQueueSize: 80, Priority: 1, RecentlySent: 40},
		{ID: byte(ChannelConsensus), SendQueueCapacity: 200, Priority: 3},
	}
	if got := q.status(channels); !reflect.DeepEqual(got, want) {
		t.Fatalf("status %+v, want %+v", got, want)
	}
	q.decayRecent()
	if got := q.status(channels)[0].RecentlySent; got != 32 {
		t.Fatalf("recently sent %d after one decay of 40, want 32", got)
	}
}
