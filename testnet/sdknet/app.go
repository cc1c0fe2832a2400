package sdknet

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// appProcess is a running `simd start`, its output appended to a log file.
type appProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // the exit status, once exited is closed
}

// startApp runs bin with args, its stdout and stderr appended to logPath.
func startApp(logPath, bin string, args ...string) (*appProcess, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "=== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &appProcess{cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); f.Close(); close(p.exited) }()
	return p, nil
}

func (p *appProcess) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the exit.
func (p *appProcess) kill() {
	if p.running() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.exited
}

// stop sends SIGTERM, then SIGKILL after grace.
func (p *appProcess) stop(grace time.Duration) {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.kill()
	}
}

// waitListening waits until something accepts TCP connections at addr, failing early if
// the process exits.
func (p *appProcess) waitListening(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if !p.running() {
			return fmt.Errorf("exited before listening on %s: %v", addr, p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s within %v", addr, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
