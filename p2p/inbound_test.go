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
