package p2p

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// One host opening silent connections cannot crowd out the others: it holds at most
// MaxPendingHandshakesPerIP of the pending-handshake slots, and each silent connection is
// closed after FirstByteTimeout, long before the handshake timeout. (With one shared bound
// and only the handshake timeout, a single attacker held every slot.)
func TestSilentConnectionsFromOneHostDoNotCrowdOutOthers(t *testing.T) {
	target := startNode(t, nil, func(c *Config) {
		c.MaxPendingHandshakes, c.MaxPendingHandshakesPerIP = 4, 2
		c.FirstByteTimeout = 500 * time.Millisecond
	})
	_, hostPort, _ := strings.Cut(target.sw.Address(), "@")
	attacker := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	var silent []net.Conn
	for range 10 {
		c, err := attacker.Dial("tcp", hostPort)
		if err != nil {
			t.Fatalf("dial from 127.0.0.2: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		silent = append(silent, c)
	}
	time.Sleep(100 * time.Millisecond) // let the switch accept them all

	honest := startNode(t, nil, nil)
	start := time.Now()
	if err := honest.sw.Connect(context.Background(), target.sw.Address()); err != nil {
		t.Fatalf("an honest peer from another IP was refused while one host held silent connections: %v", err)
	}
	t.Logf("honest peer connected in %v beside 10 silent connections", time.Since(start).Round(time.Millisecond))

	for i, c := range silent {
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err := c.Read(make([]byte, 1))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("silent connection %d is still open after 3 s; FirstByteTimeout is 500 ms", i)
		}
		if err != nil && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("silent connection %d: %v", i, err)
		}
	}
}

// With every inbound slot taken, a peer that dials in replaces the inbound peer that has
// sent nothing but keepalives for InboundIdleEviction; one that sent a message within it
// keeps its slot, and the newcomer is refused as before.
func TestKeepalivesAloneDoNotHoldAnInboundSlot(t *testing.T) {
	target := startNode(t, nil, func(c *Config) {
		c.MaxInboundPeers = 1
		c.InboundIdleEviction = 400 * time.Millisecond
	})
	quiet := startNode(t, nil, nil)
	connect(t, quiet, target)

	// A newcomer while the quiet peer is within the window: refused.
	early := startNode(t, nil, nil)
	if err := early.sw.Connect(context.Background(), target.sw.Address()); err == nil {
		eventually(t, 2*time.Second, "the early newcomer refused", func() bool { return !hasPeer(target.sw, early.sw.ID()) })
	}
	if !hasPeer(target.sw, quiet.sw.ID()) {
		t.Fatal("a peer within the idle window lost its slot")
	}

	// After the window, with only keepalives from it (PingInterval 200 ms): replaced.
	time.Sleep(600 * time.Millisecond)
	late := startNode(t, nil, nil)
	if err := late.sw.Connect(context.Background(), target.sw.Address()); err != nil {
		t.Fatalf("a newcomer was refused though the only inbound peer sent nothing but keepalives: %v", err)
	}
	eventually(t, 5*time.Second, "the quiet peer evicted and the newcomer kept", func() bool {
		return !hasPeer(target.sw, quiet.sw.ID()) && hasPeer(target.sw, late.sw.ID())
	})
	if !target.log.contains("replaced the inbound peer silent the longest") {
		t.Fatal("no log line for the eviction")
	}

	// A peer that sends messages keeps its slot past the window.
	talker := late
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				_ = talker.sw.TrySend(target.sw.ID(), ChannelTx, []byte("still here"))
			}
		}
	}()
	time.Sleep(600 * time.Millisecond)
	another := startNode(t, nil, nil)
	_ = another.sw.Connect(context.Background(), target.sw.Address())
	time.Sleep(300 * time.Millisecond)
	if !hasPeer(target.sw, talker.sw.ID()) || hasPeer(target.sw, another.sw.ID()) {
		t.Fatalf("talker kept: %v, another admitted: %v; a peer sending messages must keep its slot",
			hasPeer(target.sw, talker.sw.ID()), hasPeer(target.sw, another.sw.ID()))
	}
}

// A peer disconnected for misbehaving is refused for a while, twice as long after each
// offence: reconnecting at once to misbehave again does not work.
func TestADisconnectedPeerIsRefusedForAGrowingWhile(t *testing.T) {
	target := startNode(t, nil, nil)
	bad := startNode(t, nil, nil)
	offend := func() {
		t.Helper()
		connect(t, bad, target)
		if !target.sw.Disconnect(bad.sw.ID(), errors.New("it misbehaved")) {
			t.Fatal("Disconnect found no link")
		}
		eventually(t, 5*time.Second, "the link closed", func() bool { return !hasPeer(target.sw, bad.sw.ID()) })
	}
	reconnectAfter := func() time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < 10*time.Second {
			// The dialler's handshake succeeds either way; the target refuses the
			// penalized peer after it, so only the target's peer list tells.
			if hasPeer(target.sw, bad.sw.ID()) {
				return time.Since(start)
			}
			if !hasPeer(bad.sw, target.sw.ID()) {
				_ = bad.sw.Connect(context.Background(), target.sw.Address())
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("the peer was refused for more than 10 s")
		return 0
	}
	offend()
	first := reconnectAfter()
	if !target.sw.Disconnect(bad.sw.ID(), errors.New("it misbehaved again")) {
		t.Fatal("Disconnect found no link")
	}
	eventually(t, 5*time.Second, "the link closed", func() bool { return !hasPeer(target.sw, bad.sw.ID()) })
	second := reconnectAfter()
	t.Logf("refused for %v after the first offence, %v after the second", first.Round(time.Millisecond), second.Round(time.Millisecond))
	if first < 800*time.Millisecond || second < 1800*time.Millisecond {
		t.Fatalf("reconnected after %v and %v, want about 1 s and 2 s", first, second)
	}
}

// The connection an inbound handshake runs on, its first byte read ahead, still
// half-closes: retiring a duplicate link relies on it (without it the link was closed
// outright, and messages on their way over it were lost).
func TestAPrimedInboundConnectionStillHalfCloses(t *testing.T) {
	target := startNode(t, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	primed, err := target.sw.awaitFirstByte(server)
	if err != nil {
		t.Fatal(err)
	}
	defer primed.Close()
	cw, ok := primed.(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("the primed connection cannot half-close")
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	_ = client.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("the other end read %v after the half-close, want EOF", err)
	}
	if _, err := client.Write([]byte("y")); err != nil {
		t.Fatalf("the other end can no longer write after a half-close: %v", err)
	}
	got := make([]byte, 2)
	if _, err := io.ReadFull(primed, got); err != nil || string(got) != "xy" {
		t.Fatalf("read %q, %v; want the primed byte then the next: \"xy\"", got, err)
	}
}
