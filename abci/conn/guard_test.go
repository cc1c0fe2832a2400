package conn

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/rs/zerolog"
)

// silentApp accepts ABCI connections and reads every request without ever answering, as a
// hung app does; closing it drops every connection, as a killed app does.
type silentApp struct {
	ln    net.Listener
	conns chan net.Conn
}

func startSilentApp(t *testing.T) (*silentApp, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentApp{ln: ln, conns: make(chan net.Conn, 8)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns <- c
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(s.kill)
	return s, "tcp://" + ln.Addr().String()
}

func (s *silentApp) kill() {
	_ = s.ln.Close()
	for {
		select {
		case c := <-s.conns:
			_ = c.Close()
		default:
			return
		}
	}
}

func openRemote(t *testing.T, addr string) *Conns {
	t.Helper()
	creator, err := Creator(addr, "socket", t.TempDir(), Builtins)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(creator, addr, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// cometbft's socket client waits for an answer whatever the context says: without the
// guard this call never returns.
func TestCallOnAHungAppEndsWithItsContext(t *testing.T) {
	_, addr := startSilentApp(t)
	c := openRemote(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Consensus.ProcessProposal(ctx, &abci.RequestProcessProposal{Height: 1})
	if err == nil || ctx.Err() == nil {
		t.Fatalf("got %v before the deadline", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("the call returned %v after its deadline", waited)
	}
}

// A request queued after the connection broke is never answered nor flushed by cometbft's
// client: the call must still return, with an error naming the app and what to do.
func TestCallOnADeadAppReturnsNamingTheApp(t *testing.T) {
	app, addr := startSilentApp(t)
	c := openRemote(t, addr)
	app.kill()
	select {
	case err := <-c.Failed():
		if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "Restart the app") {
			t.Fatalf("the failure does not name the app and what to do: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the broken connection was not reported")
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Consensus.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: 1})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), addr) {
			t.Fatalf("FinalizeBlock on a dead app: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("FinalizeBlock on a dead app hung")
	}
}
