package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	cmtp2p "github.com/cometbft/cometbft/p2p"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/testnet/localnet"
)

// appOffset is an external app's port in localnet's layout of node k's ports, a free slot
// beside p2p, RPC and metrics.
const appOffset = 6

// network is the running scenario: the processes, their links and external apps.
type network struct {
	m     *Manifest
	names []string
	index map[string]int // name -> localnet index
	net   *localnet.Network
	links *links
	apps  map[string]*exec.Cmd
}

// setUp generates the homes (`tutti testnet` through testnet/localnet), copies each twin's
// home from its original, starts the link proxies and rewrites every node's config to dial
// its peers through them.
func setUp(ctx context.Context, m *Manifest, bin, dir string, fromPort int) (*network, error) {
	names := m.NodeNames()
	base, err := localnet.FreePortBase(fromPort, len(names))
	if err != nil {
		return nil, err
	}
	opt := localnet.Options{Bin: bin, Dir: dir, Validators: m.Validators, StartingPort: base, ProxyApp: m.App}
	if m.App == "external" {
		opt.ProxyApp = "kvstore" // rewritten below to each node's socket
	}
	if m.App == "ledger" {
		opt.LedgerAccounts = m.Load.Accounts
	}
	ln, err := localnet.Generate(ctx, opt)
	if err != nil {
		return nil, err
	}
	n := &network{m: m, names: names, index: map[string]int{}, net: ln, apps: map[string]*exec.Cmd{}}
	for i := range m.Validators {
		n.index[names[i]] = i
	}
	for _, t := range m.Twins {
		home := filepath.Join(dir, twinName(t))
		if err := copyDir(ln.Homes[n.index[t]], home); err != nil {
			return nil, fmt.Errorf("e2e: twin of %s: %w", t, err)
		}
		n.index[twinName(t)] = ln.AddNode(home)
	}
	ids := map[string]cmtp2p.ID{}
	for _, name := range names {
		key, err := cmtp2p.LoadNodeKey(filepath.Join(n.home(name), "config", "node_key.json"))
		if err != nil {
			return nil, fmt.Errorf("e2e: %s: %w", name, err)
		}
		ids[name] = key.ID()
	}
	n.links, err = newLinks(names, n.p2pAddr, m.original)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if err := n.writeConfig(name, ids); err != nil {
			n.links.close()
			return nil, err
		}
	}
	return n, nil
}

// original is the validator a node signs as: itself, or for a twin the one it copies.
func (m *Manifest) original(name string) string {
	if t, ok := strings.CutPrefix(name, "twin-"); ok {
		return t
	}
	return name
}

func (n *network) home(name string) string { return n.net.Homes[n.index[name]] }

func (n *network) port(name string, offset int) int { return n.net.Port(n.index[name], offset) }

func (n *network) p2pAddr(name string) string {
	return fmt.Sprintf("127.0.0.1:%d", n.port(name, localnet.P2POffset))
}

func (n *network) rpc(name string) string { return n.net.RPC(n.index[name]) }

// writeConfig points the node's peers at its proxies and gives a twin its own ports.
func (n *network) writeConfig(name string, ids map[string]cmtp2p.ID) error {
	cfg, err := config.Load(n.home(name))
	if err != nil {
		return err
	}
	cfg.Moniker = name
	cfg.P2P.ListenAddress = "tcp://" + n.p2pAddr(name)
	cfg.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", n.port(name, localnet.RPCOffset))
	cfg.Instrumentation.PrometheusListenAddr = fmt.Sprintf("127.0.0.1:%d", n.port(name, localnet.MetricsOffset))
	var peers []string
	for peer, addr := range n.links.peersOf(name) {
		peers = append(peers, fmt.Sprintf("%s@%s", ids[peer], addr))
	}
	sort.Strings(peers)
	cfg.P2P.PersistentPeers = strings.Join(peers, ",")
	if n.m.App == "external" {
		cfg.ProxyApp = n.appAddr(name)
	}
	if n.m.GCDepth > 0 {
		cfg.Consensus.GCDepth = n.m.GCDepth
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("e2e: %s config: %w", name, err)
	}
	return config.Write(cfg)
}

func (n *network) appAddr(name string) string {
	return fmt.Sprintf("tcp://127.0.0.1:%d", n.port(name, appOffset))
}

// startApp starts the node's external app, logging to APP.log in its home, unless it runs.
func (n *network) startApp(name string) error {
	if n.m.App != "external" {
		return nil
	}
	if c := n.apps[name]; c != nil && c.ProcessState == nil {
		return nil
	}
	args := slices.Clone(n.m.AppCommand)
	for i := range args {
		args[i] = strings.ReplaceAll(args[i], "{addr}", n.appAddr(name))
	}
	f, err := os.OpenFile(filepath.Join(n.home(name), "app.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("e2e: start %s's app %q: %w", name, args, err)
	}
	go func() { _ = cmd.Wait(); f.Close() }()
	n.apps[name] = cmd
	// The node dials the app at start and gives up if nobody listens: wait for the socket.
	deadline := time.Now().Add(10 * time.Second)
	for !listening(n.appAddr(name)) {
		if time.Now().After(deadline) {
			return fmt.Errorf("e2e: %s's app did not listen on %s within 10s (log: %s)", name, n.appAddr(name), filepath.Join(n.home(name), "app.log"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// start starts the node (and first its app).
func (n *network) start(name string) error {
	if err := n.startApp(name); err != nil {
		return err
	}
	return n.net.Start(n.index[name])
}

// tearDown stops every node, app and proxy.
func (n *network) tearDown() error {
	err := n.net.StopAll(15 * time.Second)
	for _, c := range n.apps {
		_ = c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range n.apps {
		done := make(chan struct{})
		go func() { _, _ = c.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = c.Process.Kill()
		}
	}
	n.links.close()
	return err
}

// copyDir copies a node home (small files: config, keys, the empty data dir).
func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		if !d.Type().IsRegular() {
			return errors.New("not a regular file: " + path)
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, src); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
