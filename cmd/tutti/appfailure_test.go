package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// startABCICLI runs CometBFT's own kvstore app (abci-cli, built from the module cache) as
// an external socket app and returns its address.
func startABCICLI(t *testing.T) (*exec.Cmd, string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "abci-cli")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/cometbft/cometbft/abci/cmd/abci-cli").CombinedOutput(); err != nil {
		t.Fatalf("build abci-cli: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "tcp://" + ln.Addr().String()
	ln.Close()
	app := exec.Command(bin, "kvstore", "--address", addr, "--log_level", "error")
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = app.Process.Signal(syscall.SIGCONT)
		_ = app.Process.Kill()
		_, _ = app.Process.Wait()
	})
	return app, addr
}

// A node whose app is killed stops within seconds with an ERROR naming the app's address
// and what to do, as CometBFT does, instead of serving a stale height.
func TestNodeStopsWhenItsAppIsKilled(t *testing.T) {
	app, addr := startABCICLI(t)
	ln := newLocalnet(t, 1, "--proxy_app", addr)
	ln.start(0)
	ln.waitHeight([]int{0}, 3, 30*time.Second)
	if err := app.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	exited, status := ln.Wait(0, 5*time.Second)
	if !exited {
		t.Fatalf("the node still runs 5s after its app was killed\n%s", ln.tail(0, 20))
	}
	if status == nil {
		t.Fatalf("the node exited with status 0 after losing its app\n%s", ln.tail(0, 20))
	}
	t.Logf("the node exited %v after its app was killed", time.Since(killed).Round(time.Millisecond))
	errLine := regexp.MustCompile(`(?m)^.*\bERR\b.*$`)
	var named bool
	for _, line := range errLine.FindAllString(ln.tail(0, 40), -1) {
		named = named || (strings.Contains(line, addr) && strings.Contains(line, "Restart the app"))
	}
	if !named {
		t.Fatalf("no ERROR line names the app at %s and what to do:\n%s", addr, ln.tail(0, 20))
	}
}

// A node whose app hangs (stopped with SIGSTOP) still exits on signals: the first asks
// for a clean stop, which a height waiting on the app cannot finish; the second exits at
// once.
func TestSecondSignalStopsANodeWhoseAppHangs(t *testing.T) {
	app, addr := startABCICLI(t)
	ln := newLocalnet(t, 1, "--proxy_app", addr)
	ln.start(0)
	ln.waitHeight([]int{0}, 3, 30*time.Second)
	if err := app.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // a height now waits on the app
	ln.Signal(0, syscall.SIGTERM)
	if exited, _ := ln.Wait(0, 2*time.Second); exited {
		t.Logf("the node stopped cleanly on the first signal")
		return
	}
	ln.Signal(0, syscall.SIGTERM)
	if exited, _ := ln.Wait(0, 2*time.Second); !exited {
		t.Fatalf("the node ignored a second SIGTERM\n%s", ln.tail(0, 20))
	}
	if ln.logCount(0, "exiting without a clean stop") != 1 {
		t.Fatalf("the forced exit was not logged\n%s", ln.tail(0, 10))
	}
}

func TestStopOnSignals(t *testing.T) {
	cases := []struct {
		name    string
		signals int
		stops   bool // the node's Run returns after the first signal
		exit    int  // -1: no forced exit
	}{
		{"clean stop", 1, true, -1},
		{"second signal", 2, false, 130},
		{"stop takes too long", 1, false, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			signals := make(chan os.Signal, 2)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stopped := make(chan struct{})
			exited := make(chan int, 1)
			finished := make(chan struct{})
			go func() {
				stopOnSignals(zerolog.Nop(), signals, cancel, stopped, 300*time.Millisecond, func(code int) { exited <- code })
				close(finished)
			}()
			signals <- syscall.SIGTERM
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the first signal did not cancel the node")
			}
			if tc.signals == 2 {
				signals <- syscall.SIGINT
			}
			if tc.stops {
				close(stopped)
			}
			select {
			case <-finished: // the test's exit returns, so stopOnSignals always finishes
			case <-time.After(5 * time.Second):
				t.Fatal("neither stopped nor exited")
			}
			code := -1
			select {
			case code = <-exited:
			default:
			}
			if code != tc.exit {
				t.Fatalf("exit(%d), want %d (-1: none)", code, tc.exit)
			}
		})
	}
}
