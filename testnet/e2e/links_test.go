package e2e

import (
	"io"
	"net"
	"testing"
	"time"
)

// echoServers starts one TCP echo server per name and returns their addresses.
func echoServers(t *testing.T, names ...string) map[string]string {
	addrs := map[string]string{}
	for _, n := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { _, _ = io.Copy(c, c); c.Close() }()
			}
		}()
		addrs[n] = ln.Addr().String()
	}
	return addrs
}

// roundTrip sends a byte through addr and waits for the echo; it fails if the link is
// refused, cut or black-holed.
func roundTrip(addr string) (time.Duration, bool) {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte{7}); err != nil {
		return 0, false
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return 0, false
	}
	return time.Since(start), true
}

// TestLinksPartitionHealAndDelay: a partition cuts exactly the links between sides, a
// heal restores them, and a node's delay slows its links only; twins are never linked.
func TestLinksPartitionHealAndDelay(t *testing.T) {
	names := []string{"a", "b", "c", "twin-c"}
	addrs := echoServers(t, names...)
	original := (&Manifest{}).original
	l, err := newLinks(names, func(n string) string { return addrs[n] }, original)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	if _, linked := l.peersOf("c")["twin-c"]; linked {
		t.Fatal("a twin is linked to its original")
	}
	up := func(from, to string) bool { _, ok := roundTrip(l.peersOf(from)[to]); return ok }

	l.partition([][]string{{"a"}, {"b", "c"}})
	if up("a", "b") || up("c", "a") || up("a", "twin-c") || up("b", "twin-c") {
		t.Fatal("a link across the partition is up")
	}
	if !up("b", "c") || !up("c", "b") {
		t.Fatal("a link within a side is down")
	}
	l.heal()
	if !up("a", "b") || !up("c", "a") || !up("b", "twin-c") {
		t.Fatal("a link is still down after the heal")
	}
	l.setDelay("a", 100*time.Millisecond)
	if rtt, ok := roundTrip(l.peersOf("b")["a"]); !ok || rtt < 200*time.Millisecond {
		t.Fatalf("b->a with 100ms each way on a's links: round trip %v (%v)", rtt, ok)
	}
	if rtt, ok := roundTrip(l.peersOf("b")["c"]); !ok || rtt > 100*time.Millisecond {
		t.Fatalf("b->c has no delay, round trip %v (%v)", rtt, ok)
	}
}
