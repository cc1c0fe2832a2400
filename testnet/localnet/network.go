package localnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/engine/store"
)

// Port layout of `tutti testnet`: node i listens for peers on base+10i, serves RPC on
// base+10i+1 and metrics on base+10i+4; the offsets in between are free for tools that run
// something beside each node (the e2e runner's external apps).
const (
	PortStride    = 10
	P2POffset     = 0
	RPCOffset     = 1
	MetricsOffset = 4
)

// markerFile marks a directory this package generated, so that a later run may replace it
// without risking a directory it did not make.
const markerFile = "localnet.json"

// Options describe the network to generate.
type Options struct {
	Bin          string // the tutti binary
	Dir          string // where the homes go: Dir/node0 ...
	Validators   int
	StartingPort int
	ChainID      string
	ProxyApp     string // kvstore, ledger, ...
	// LedgerAccounts accounts derived from LedgerSeed are funded at genesis (testnet's
	// --ledger-accounts), for `tutti load --app ledger`.
	LedgerAccounts int
	LedgerSeed     string
	// ExtraArgs go to `tutti testnet` as they are.
	ExtraArgs []string
}

// Network is a generated network and the node processes it started.
type Network struct {
	Options
	Homes []string
	procs []*process
}

type process struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	err     error       // the exit status, once exited is closed
	stopped atomic.Bool // we asked it to stop: its exit is not a failure
	paused  atomic.Bool // SIGSTOPped: a signal to end it must be followed by SIGCONT
}

// Generate writes the homes. Dir must not exist, be empty, or hold a network this package
// generated earlier, which is replaced (a fresh chain each time).
func Generate(ctx context.Context, opt Options) (*Network, error) {
	if opt.Validators < 1 {
		return nil, fmt.Errorf("localnet: %d validators", opt.Validators)
	}
	if err := prepareDir(opt.Dir); err != nil {
		return nil, err
	}
	args := []string{"testnet", "--v", strconv.Itoa(opt.Validators), "--o", opt.Dir,
		"--starting-port", strconv.Itoa(opt.StartingPort)}
	if opt.ChainID != "" {
		args = append(args, "--chain-id", opt.ChainID)
	}
	if opt.ProxyApp != "" {
		args = append(args, "--proxy_app", opt.ProxyApp)
	}
	if opt.LedgerAccounts > 0 {
		args = append(args, "--ledger-accounts", strconv.Itoa(opt.LedgerAccounts))
		if opt.LedgerSeed != "" {
			args = append(args, "--ledger-seed", opt.LedgerSeed)
		}
	}
	args = append(args, opt.ExtraArgs...)
	if out, err := exec.CommandContext(ctx, opt.Bin, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("localnet: %s testnet: %v\n%s", opt.Bin, err, out)
	}
	marker, _ := json.MarshalIndent(opt, "", "  ")
	if err := os.WriteFile(filepath.Join(opt.Dir, markerFile), marker, 0o644); err != nil {
		return nil, err
	}
	n := &Network{Options: opt, procs: make([]*process, opt.Validators)}
	for i := range opt.Validators {
		n.Homes = append(n.Homes, filepath.Join(opt.Dir, fmt.Sprintf("node%d", i)))
	}
	return n, nil
}

func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(entries) == 0:
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, markerFile)); err != nil {
		return fmt.Errorf("localnet: %s exists and was not made by tutti localnet (no %s): remove it or choose another directory", dir, markerFile)
	}
	return os.RemoveAll(dir)
}

// AddNode adds a node whose home another tool prepared (the end-to-end runner's twins),
// with its RPC at RPC(i) for the index returned, and returns that index.
func (n *Network) AddNode(home string) int {
	n.Homes = append(n.Homes, home)
	n.procs = append(n.procs, nil)
	return len(n.Homes) - 1
}

// RPC is node i's RPC address.
func (n *Network) RPC(i int) string {
	return fmt.Sprintf("http://127.0.0.1:%d", n.Port(i, RPCOffset))
}

// Port is node i's port at offset in the layout (P2POffset, RPCOffset, MetricsOffset, or
// a free offset below 10).
func (n *Network) Port(i, offset int) int { return n.StartingPort + PortStride*i + offset }

// RPCs are every node's RPC address.
func (n *Network) RPCs() []string {
	out := make([]string, len(n.Homes))
	for i := range out {
		out[i] = n.RPC(i)
	}
	return out
}

// LogPath is node i's log file.
func (n *Network) LogPath(i int) string { return filepath.Join(n.Homes[i], "node.log") }

// Start runs node i with extra environment variables; its stdout and stderr are appended
// to LogPath(i). The node runs in its own process group, so a Ctrl-C at the terminal
// reaches only the orchestrator, which then stops the nodes itself, in order; and on Linux
// the kernel sends it SIGTERM if the orchestrator dies without stopping it.
func (n *Network) Start(i int, env ...string) error {
	if p := n.procs[i]; p != nil && !p.done() {
		return fmt.Errorf("localnet: node %d is already running", i)
	}
	f, err := os.OpenFile(n.LogPath(i), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "=== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(n.Bin, "start", "--home", n.Homes[i])
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("localnet: start node %d: %w", i, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); f.Close(); close(p.exited) }()
	n.procs[i] = p
	return nil
}

func (p *process) done() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Exited reports a node that exited without being asked to, with its status.
func (n *Network) Exited() error {
	var errs []error
	for i, p := range n.procs {
		if p != nil && !p.stopped.Load() && p.done() {
			errs = append(errs, fmt.Errorf("node %d exited on its own: %v (log: %s)", i, p.err, n.LogPath(i)))
		}
	}
	return errors.Join(errs...)
}

// Stop sends node i SIGTERM and waits up to grace for it to exit, then kills it. It
// returns an error if the node had to be killed or did not exit cleanly.
func (n *Network) Stop(i int, grace time.Duration) error {
	p := n.procs[i]
	if p == nil || p.done() {
		return nil
	}
	p.stopped.Store(true)
	p.signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			return fmt.Errorf("node %d did not exit cleanly on SIGTERM: %v (log: %s)", i, p.err, n.LogPath(i))
		}
		return nil
	case <-time.After(grace):
		n.Kill(i)
		return fmt.Errorf("node %d did not stop within %v of SIGTERM and was killed (log: %s)", i, grace, n.LogPath(i))
	}
}

// Kill sends node i SIGKILL and waits for it to exit.
func (n *Network) Kill(i int) {
	p := n.procs[i]
	if p == nil || p.done() {
		return
	}
	p.stopped.Store(true)
	p.signal(syscall.SIGKILL)
	<-p.exited
}

// Signal sends node i sig without waiting for it to act: a test of how a node takes
// signals. The node counts as asked to stop.
func (n *Network) Signal(i int, sig syscall.Signal) {
	if p := n.procs[i]; p != nil && !p.done() {
		p.stopped.Store(true)
		p.signal(sig)
	}
}

// signal sends sig, then SIGCONT to a paused process, which otherwise would not act on
// SIGTERM until resumed.
func (p *process) signal(sig syscall.Signal) {
	_ = p.cmd.Process.Signal(sig)
	if p.paused.Swap(false) {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// Wait waits up to within (0: not at all) for node i to exit, and returns whether it has
// and its exit status.
func (n *Network) Wait(i int, within time.Duration) (exited bool, status error) {
	p := n.procs[i]
	if p == nil {
		return false, nil
	}
	if within <= 0 {
		select {
		case <-p.exited:
			return true, p.err
		default:
			return false, nil
		}
	}
	select {
	case <-p.exited:
		return true, p.err
	case <-time.After(within):
		return false, nil
	}
}

// TruncateJournal cuts up to bytes off the tail of stopped node i's newest goleveldb
// journal (the highest-numbered *.log of its block store), as a disk that lost its last
// writes would, and returns how much it cut: at most a third of the file, so that the
// journal keeps a head to recover from.
func (n *Network) TruncateJournal(i int, bytes int64) (int64, error) {
	if n.Running(i) {
		return 0, fmt.Errorf("localnet: node %d is running: stop it before cutting its journal", i)
	}
	cfg, err := config.Load(n.Homes[i])
	if err != nil {
		return 0, err
	}
	dbDir := filepath.Join(cfg.DBPath(), store.DBName)
	logs, err := filepath.Glob(filepath.Join(dbDir, "*.log"))
	if err != nil {
		return 0, err
	}
	var journals []string
	for _, l := range logs {
		if filepath.Base(l) != "LOG" {
			journals = append(journals, l)
		}
	}
	if len(journals) == 0 {
		return 0, fmt.Errorf("localnet: no journal in %s", dbDir)
	}
	sort.Strings(journals) // fixed-width numbers: the last is the newest
	j := journals[len(journals)-1]
	fi, err := os.Stat(j)
	if err != nil {
		return 0, err
	}
	cut := min(bytes, fi.Size()/3)
	return cut, os.Truncate(j, fi.Size()-cut)
}

// Pause freezes node i (SIGSTOP): its sockets stay open but it answers nothing, as a
// node stalled by its host would.
func (n *Network) Pause(i int) error {
	p := n.procs[i]
	if p == nil || p.done() {
		return fmt.Errorf("localnet: node %d is not running", i)
	}
	p.paused.Store(true)
	return p.cmd.Process.Signal(syscall.SIGSTOP)
}

// Resume continues a paused node (SIGCONT).
func (n *Network) Resume(i int) error {
	p := n.procs[i]
	if p == nil || p.done() {
		return fmt.Errorf("localnet: node %d is not running", i)
	}
	p.paused.Store(false)
	return p.cmd.Process.Signal(syscall.SIGCONT)
}

// Running says whether node i's process is up (paused counts as up).
func (n *Network) Running(i int) bool {
	p := n.procs[i]
	return p != nil && !p.done()
}

// Paused says whether node i is paused.
func (n *Network) Paused(i int) bool {
	p := n.procs[i]
	return p != nil && !p.done() && p.paused.Load()
}

// StopAll stops every node at once (SIGTERM, SIGKILL after grace) and waits for them.
func (n *Network) StopAll(grace time.Duration) error {
	errs := make([]error, len(n.procs))
	done := make(chan struct{})
	for i := range n.procs {
		go func() { errs[i] = n.Stop(i, grace); done <- struct{}{} }()
	}
	for range n.procs {
		<-done
	}
	return errors.Join(errs...)
}

// Height is node i's latest height as its RPC reports it.
func (n *Network) Height(ctx context.Context, i int) (int64, error) {
	c, err := rpchttp.New(n.RPC(i), "/websocket")
	if err != nil {
		return 0, err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return 0, err
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

// WaitHeight waits until every running node reports height h, failing early if a node
// exits.
func (n *Network) WaitHeight(ctx context.Context, h int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if err := n.Exited(); err != nil {
			return err
		}
		low := int64(-1)
		for i, p := range n.procs {
			if p == nil || p.done() {
				continue
			}
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			got, err := n.Height(qctx, i)
			cancel()
			if err != nil {
				got = 0
			}
			if low < 0 || got < low {
				low = got
			}
		}
		if low >= h {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("localnet: the nodes did not reach height %d within %v (lowest at %d); see the logs in %s", h, within, max(low, 0), n.Dir)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// FreePortBase finds a base port P such that every port of an n-node network's layout
// (P+10i .. P+10i+9, the tools' offsets included) is free on loopback now, starting the
// search at from.
func FreePortBase(from, n int) (int, error) {
	for base := from; base+PortStride*n < 65535; base += 97 {
		if portsFree(base, n) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("localnet: no free range of ports for %d nodes from %d", n, from)
}

// PortsFree says whether the ports of an n-node network at base are free now.
func portsFree(base, n int) bool {
	for p := base; p < base+PortStride*n; p++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}
