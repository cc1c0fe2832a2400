package sdknet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cmtp2p "github.com/cometbft/cometbft/p2p"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/testnet/localnet"
)

// Node i's ports in localnet's layout (p2p at +0, RPC at +1, metrics at +4), with its app's
// beside them.
const (
	appOffset   = 6 // simd's ABCI socket
	proxyOffset = 7 // the recording proxy in front of it
	grpcOffset  = 8 // simd's gRPC (the CLI's simulate and the Tx service)
)

// idleBlockInterval is the chains' max_empty_block_interval (a chain rule, the same on
// every node): a height every 250 ms while there are no transactions, instead of the
// default 1 s, so that 150 heights take about 40 s. Heights come faster than on the
// default, which leaves a validator less time to attest, not more.
const idleBlockInterval = 250 * time.Millisecond

// chainOptions describe a chain to set up.
type chainOptions struct {
	validators int
	fullNodes  int  // nodes that are not validators, with their own simd, same genesis
	proxy      bool // each node reaches its app through a recording proxy
}

// chain is a Cosmos SDK chain of simd apps, each under its own `tutti start`: nodes
// 0..validators-1 are the validators of `simd testnet init-files`, the rest full nodes.
type chain struct {
	opt     chainOptions
	dir     string
	chainID string
	simd    string
	base    int
	net     *localnet.Network
	nodes   []*node

	closeOnce sync.Once
	closeErr  error
}

// node is one Tutti node and its app.
type node struct {
	index     int
	name      string
	validator bool
	simdHome  string
	tuttiHome string
	app       *appProcess
	proxy     *abciProxy
}

// newChain writes a fresh genesis and every home in dir (which must exist) and starts
// nothing yet.
func newChain(ctx context.Context, b binaries, dir string, opt chainOptions) (*chain, error) {
	n := opt.validators + opt.fullNodes
	base, err := freePortBase(n)
	if err != nil {
		return nil, err
	}
	c := &chain{opt: opt, dir: dir, chainID: "sdk-" + randomHex(3), simd: b.simd, base: base,
		net: &localnet.Network{Options: localnet.Options{Bin: b.tutti, Dir: dir, Validators: opt.validators, StartingPort: base}}}
	if _, err := c.simdCmd(ctx, "testnet", "init-files", "--v", fmt.Sprint(opt.validators), "--output-dir", dir,
		"--chain-id", c.chainID, "--keyring-backend", "test", "--starting-ip-address", "127.0.0.1",
		"--node-daemon-home", "simd", "--node-dir-prefix", "node"); err != nil {
		return nil, err
	}
	for i := range n {
		nd := &node{index: i, name: fmt.Sprintf("node%d", i), validator: i < opt.validators}
		nd.simdHome = filepath.Join(dir, nd.name, "simd")
		nd.tuttiHome = filepath.Join(dir, nd.name, "tutti")
		if !nd.validator {
			if _, err := c.simdCmd(ctx, "init", nd.name, "--home", nd.simdHome, "--chain-id", c.chainID); err != nil {
				return nil, err
			}
			if err := copyFile(c.genesisFile(), filepath.Join(nd.simdHome, "config", "genesis.json")); err != nil {
				return nil, err
			}
		}
		if _, err := exec.CommandContext(ctx, b.tutti, "init", "--home", nd.tuttiHome, "--chain-id", c.chainID, "--moniker", nd.name).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("tutti init %s: %w", nd.tuttiHome, err)
		}
		if err := c.adoptKeys(nd); err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, nd)
		if got := c.net.AddNode(nd.tuttiHome); got != i {
			return nil, fmt.Errorf("localnet gave node %d index %d", i, got)
		}
	}
	ids := make([]cmtp2p.ID, n)
	for i, nd := range c.nodes {
		key, err := cmtp2p.LoadNodeKey(filepath.Join(nd.tuttiHome, "config", "node_key.json"))
		if err != nil {
			return nil, err
		}
		ids[i] = key.ID()
	}
	for _, nd := range c.nodes {
		if err := c.writeConfigs(nd, ids); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// binaries are the two programs a chain runs.
type binaries struct{ tutti, simd string }

func (c *chain) genesisFile() string {
	return filepath.Join(c.dir, "node0", "simd", "config", "genesis.json")
}

// adoptKeys gives the Tutti home the SDK's genesis and, for a validator, the keys simd
// made for it (its validator key is the one its gentx bonded).
func (c *chain) adoptKeys(nd *node) error {
	if err := copyFile(c.genesisFile(), filepath.Join(nd.tuttiHome, "config", "genesis.json")); err != nil {
		return err
	}
	if !nd.validator {
		return nil
	}
	for _, f := range []string{"config/priv_validator_key.json", "config/node_key.json", "data/priv_validator_state.json"} {
		if err := copyFile(filepath.Join(nd.simdHome, f), filepath.Join(nd.tuttiHome, f)); err != nil {
			return err
		}
	}
	return nil
}

// writeConfigs sets the node's ports, its peers (every validator but itself; a full node
// dials the validators, they do not dial it) and its app, and points simd's own RPC
// setting (its gRPC Tx service) at the node. The CLI gets --node and --chain-id on every
// call.
func (c *chain) writeConfigs(nd *node, ids []cmtp2p.ID) error {
	cfg, err := config.Load(nd.tuttiHome)
	if err != nil {
		return err
	}
	cfg.Moniker = nd.name
	cfg.ProxyApp = "tcp://" + c.appAddr(nd.index)
	if c.opt.proxy {
		cfg.ProxyApp = "tcp://" + c.proxyAddr(nd.index)
	}
	cfg.ABCI = "socket"
	cfg.LogFormat = "json"
	cfg.P2P.ListenAddress = "tcp://" + c.addr(nd.index, localnet.P2POffset)
	cfg.RPC.ListenAddress = "tcp://" + c.addr(nd.index, localnet.RPCOffset)
	cfg.P2P.AllowDuplicateIP = true
	cfg.Consensus.MaxEmptyBlockInterval = config.Duration(idleBlockInterval)
	cfg.Instrumentation.Prometheus = true // the relay counters, for the reports
	cfg.Instrumentation.PrometheusListenAddr = c.addr(nd.index, localnet.MetricsOffset)
	var peers []string
	for j := range c.opt.validators {
		if j != nd.index {
			peers = append(peers, fmt.Sprintf("%s@%s", ids[j], c.addr(j, localnet.P2POffset)))
		}
	}
	cfg.P2P.PersistentPeers = strings.Join(peers, ",")
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%s: %w", nd.tuttiHome, err)
	}
	if err := config.Write(cfg); err != nil {
		return err
	}
	return setTOML(filepath.Join(nd.simdHome, "config", "config.toml"), "rpc", "laddr", c.nodeFlag(nd.index))
}

func (c *chain) port(i, offset int) int { return c.base + localnet.PortStride*i + offset }

func (c *chain) addr(i, offset int) string {
	return fmt.Sprintf("127.0.0.1:%d", c.port(i, offset))
}

func (c *chain) appAddr(i int) string   { return c.addr(i, appOffset) }
func (c *chain) proxyAddr(i int) string { return c.addr(i, proxyOffset) }

// rpc is node i's RPC URL; nodeFlag is the same for simd's --node.
func (c *chain) rpc(i int) string      { return c.net.RPC(i) }
func (c *chain) nodeFlag(i int) string { return "tcp://" + c.addr(i, localnet.RPCOffset) }

// startApp starts node i's simd and, the first time, its proxy, and waits until the app
// listens.
func (c *chain) startApp(i int) error {
	nd := c.nodes[i]
	if nd.app != nil && nd.app.running() {
		return fmt.Errorf("%s's simd is already running", nd.name)
	}
	app, err := startApp(c.appLog(i), c.simd, "start", "--with-comet=false", "--transport=socket",
		"--address=tcp://"+c.appAddr(i), "--grpc.enable=true", "--grpc.address="+c.addr(i, grpcOffset),
		"--api.enable=false", "--minimum-gas-prices=0stake", "--home", nd.simdHome)
	if err != nil {
		return fmt.Errorf("start %s's simd: %w", nd.name, err)
	}
	nd.app = app
	if err := app.waitListening(c.appAddr(i), 60*time.Second); err != nil {
		return fmt.Errorf("%s's simd %v (log: %s)", nd.name, err, c.appLog(i))
	}
	if c.opt.proxy && nd.proxy == nil {
		p, err := startProxy(c.proxyAddr(i), c.appAddr(i))
		if err != nil {
			return fmt.Errorf("%s's ABCI proxy: %w", nd.name, err)
		}
		nd.proxy = p
	}
	return nil
}

func (c *chain) appLog(i int) string { return filepath.Join(c.dir, c.nodes[i].name, "simd.log") }

// start starts node i's app, then the node.
func (c *chain) start(i int) error {
	if err := c.startApp(i); err != nil {
		return err
	}
	return c.net.Start(i)
}

// startAll starts every app, then every node.
func (c *chain) startAll() error {
	for i := range c.nodes {
		if err := c.startApp(i); err != nil {
			return err
		}
	}
	for i := range c.nodes {
		if err := c.net.Start(i); err != nil {
			return err
		}
	}
	return nil
}

// killNode kills node i's tutti and its simd with SIGKILL.
func (c *chain) killNode(i int) {
	c.net.Kill(i)
	if app := c.nodes[i].app; app != nil {
		app.kill()
	}
}

// close stops every node, then every app and proxy; later calls return the first's
// result.
func (c *chain) close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.net.StopAll(15 * time.Second)
		for _, nd := range c.nodes {
			if nd.app != nil {
				nd.app.stop(10 * time.Second)
			}
		}
		for _, nd := range c.nodes {
			if nd.proxy != nil {
				nd.proxy.Close()
			}
		}
	})
	return c.closeErr
}

// simdCmd runs the simd CLI with args and returns its standard output; a failure returns
// both outputs. Every call is bounded in time.
func (c *chain) simdCmd(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.simd, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return []byte(stdout.String()), fmt.Errorf("simd %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return []byte(stdout.String()), nil
}

// freePortBase searches for a base with every port of n nodes free now, from a random
// start well below the ephemeral range (so the nodes' own outgoing connections rarely take
// one of its ports) so that runs beside each other rarely meet.
func freePortBase(n int) (int, error) {
	start, err := rand.Int(rand.Reader, big.NewInt(10000))
	if err != nil {
		return 0, err
	}
	return localnet.FreePortBase(20000+int(start.Int64()), n)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// setTOML sets key in [section] of a TOML file simd wrote, to a string value. The key
// must be there.
func setTOML(path, section, key, value string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	current, done := "", false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			current = strings.Trim(t, "[]")
			continue
		}
		if current != section || done {
			continue
		}
		if k, _, ok := strings.Cut(t, "="); ok && strings.TrimSpace(k) == key {
			lines[i] = fmt.Sprintf("%s = %q", key, value)
			done = true
		}
	}
	if !done {
		return fmt.Errorf("%s: no key %s in [%s]", path, key, section)
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600)
}
