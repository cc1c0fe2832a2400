package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// echoServer echoes every connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := New("127.0.0.1:0", target, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func roundTrip(t *testing.T, c net.Conn, msg []byte) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo mismatch")
	}
	return time.Since(start)
}

func TestDelayAddsToRoundTrip(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	if rtt := roundTrip(t, c, []byte("warm")); rtt > 200*time.Millisecond {
		t.Fatalf("undelayed round trip took %v", rtt)
	}
	p.Set(Forward, Shape{Delay: 60 * time.Millisecond})
	p.Set(Backward, Shape{Delay: 40 * time.Millisecond, Jitter: 20 * time.Millisecond})
	for range 3 {
		rtt := roundTrip(t, c, []byte("ping"))
		if rtt < 100*time.Millisecond || rtt > 2*time.Second {
			t.Fatalf("round trip %v, want about 100-120ms", rtt)
		}
	}
	p.Heal()
	// Chunks read before the heal may still carry their delay; the next
	// round trip is fast again.
	roundTrip(t, c, []byte("flush"))
	if rtt := roundTrip(t, c, []byte("fast")); rtt > 90*time.Millisecond {
		t.Fatalf("healed round trip took %v", rtt)
	}
}

// TestBlackHoleIsOneWay: with the forward direction black-holed, the target
// stops hearing the client while the client still hears the target.
func TestBlackHoleIsOneWay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := newProxy(t, ln.Addr().String())
	client := dial(t, p.Addr())
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	p.Set(Forward, Shape{BlackHole: true})
	if _, err := client.Write([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Write([]byte("heard")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(client, got); err != nil || string(got) != "heard" {
		t.Fatalf("backward direction: %q, %v", got, err)
	}
	_ = server.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := server.Read(make([]byte, 16))
	var ne net.Error
	if n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("forward direction delivered %d bytes (err %v) through a black hole", n, err)
	}

	p.Heal()
	if _, err := client.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(server, got); err != nil || string(got) != "after" {
		t.Fatalf("after heal: %q, %v", got, err)
	}
}

func TestBandwidthLimit(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	const rate = 1 << 20 // 1 MiB/s
	p.Set(Backward, Shape{BytesPerSec: rate})
	msg := bytes.Repeat([]byte{7}, 512<<10)
	go func() { _, _ = c.Write(msg) }()
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, len(msg))); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	// 512 KiB at 1 MiB/s is 0.5 s; allow scheduling slack both ways.
	if took < 400*time.Millisecond || took > 3*time.Second {
		t.Fatalf("512 KiB at 1 MiB/s took %v", took)
	}
}

func TestCutClosesConnectionsAndRefuseKeepsThemOut(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("up"))
	p.Cut()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("cut connection still open: %v", err)
	}

	p.Refuse(true)
	c2 := dial(t, p.Addr())
	_ = c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = c2.Write([]byte("x"))
	if _, err := c2.Read(make([]byte, 1)); err == nil {
		t.Fatal("refused connection carried data")
	}
	p.Refuse(false)
	roundTrip(t, dial(t, p.Addr()), []byte("back"))
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	target := echoServer(t)
	p, err := New("127.0.0.1:0", target, 2)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		roundTrip(t, dial(t, p.Addr()), []byte("hi"))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// The echo server's goroutines end when the proxy's target sockets close.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+1 { // +1: echo server accept loop
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
