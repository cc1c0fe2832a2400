// Package conn opens the four ABCI connections CometBFT opens to an application
// (consensus, mempool, query, snapshot) through cometbft's own clients: in process for the
// built-in apps, over a socket (tcp://, unix://) or gRPC for external ones. A connection
// that breaks is reported on Failed: the node stops with a clear error instead of going on
// without its app.
package conn

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	abcicli "github.com/cometbft/cometbft/abci/client"
	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/proxy"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/app/ledger"
	"github.com/tutti-bft/tutti/engine/logging"
)

// Builtin builds an in-process app; dbDir is the node's data directory.
type Builtin func(dbDir string) (abci.Application, error)

// Builtins are the in-process apps every node knows.
var Builtins = map[string]Builtin{
	"ledger":  func(dbDir string) (abci.Application, error) { return ledger.New(filepath.Join(dbDir, "ledger")) },
	"kvstore": func(string) (abci.Application, error) { return kvstore.NewInMemoryApplication(), nil },
	"persistent_kvstore": func(dbDir string) (abci.Application, error) {
		return kvstore.NewPersistentApplication(dbDir), nil
	},
	"noop": func(string) (abci.Application, error) { return abci.NewBaseApplication(), nil },
}

// Creator returns the client creator for proxy_app: a built-in name, or an address
// (tcp://host:port, unix:///path) reached with transport "socket" or "grpc".
func Creator(proxyApp, transport, dbDir string, builtins map[string]Builtin) (proxy.ClientCreator, error) {
	if build, ok := builtins[proxyApp]; ok {
		app, err := build(dbDir)
		if err != nil {
			return nil, fmt.Errorf("start in-process app %q: %w", proxyApp, err)
		}
		return proxy.NewLocalClientCreator(app), nil
	}
	if !strings.HasPrefix(proxyApp, "tcp://") && !strings.HasPrefix(proxyApp, "unix://") {
		names := make([]string, 0, len(builtins))
		for n := range builtins {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("proxy_app %q is neither a built-in app (%s) nor an address such as tcp://127.0.0.1:26658",
			proxyApp, strings.Join(names, ", "))
	}
	if transport != "socket" && transport != "grpc" {
		return nil, fmt.Errorf("abci transport %q: want socket or grpc", transport)
	}
	if transport == "grpc" {
		// gRPC's resolver does not know a tcp:// scheme; cometbft's dialer still reads the
		// bare host:port as TCP.
		proxyApp = strings.TrimPrefix(proxyApp, "tcp://")
	}
	// mustConnect=false: like CometBFT, keep retrying until the app is up, so operators may
	// start the app after the node.
	return proxy.NewRemoteClientCreator(proxyApp, transport, false), nil
}

// Conns are the four logical connections to one app.
type Conns struct {
	Consensus proxy.AppConnConsensus
	Mempool   proxy.AppConnMempool
	Query     proxy.AppConnQuery
	Snapshot  proxy.AppConnSnapshot

	app      string
	clients  []namedClient
	failed   chan error
	stopOnce sync.Once
	stopped  chan struct{}
}

type namedClient struct {
	name   string
	client abcicli.Client
}

// Open starts the four clients and watches them. app is proxy_app, named in errors. Calls
// on an external app's connections return when their context ends or the connection
// breaks (guard.go); an in-process app is called directly, as its calls cannot hang on a
// connection and must not run on after the node closed its store.
func Open(creator proxy.ClientCreator, app string, logger zerolog.Logger) (*Conns, error) {
	c := &Conns{app: app, failed: make(chan error, 1), stopped: make(chan struct{})}
	remote := strings.Contains(app, "://")
	metrics := proxy.NopMetrics()
	for _, name := range []string{"query", "snapshot", "mempool", "consensus"} {
		client, err := creator.NewABCIClient()
		if err == nil {
			// cometbft's clients log every service start and stop at INFO; only their
			// warnings and errors tell an operator something.
			clientLog := logger.With().Str("module", "abci-client").Str("connection", name).Logger()
			if clientLog.GetLevel() < zerolog.WarnLevel {
				clientLog = clientLog.Level(zerolog.WarnLevel)
			}
			client.SetLogger(logging.Comet(clientLog))
			err = client.Start()
		}
		if err != nil {
			c.stopClients()
			return nil, fmt.Errorf("open ABCI %s connection: %w", name, err)
		}
		if remote {
			raw, name := client, name
			client = &guarded{Client: raw, describe: func() error { return brokenError(app, name, raw.Error()) }}
		}
		c.clients = append(c.clients, namedClient{name, client})
		switch name {
		case "query":
			c.Query = proxy.NewAppConnQuery(client, metrics)
		case "snapshot":
			c.Snapshot = proxy.NewAppConnSnapshot(client, metrics)
		case "mempool":
			c.Mempool = proxy.NewAppConnMempool(client, metrics)
		case "consensus":
			c.Consensus = proxy.NewAppConnConsensus(client, metrics)
		}
	}
	for _, nc := range c.clients {
		go c.watch(nc)
	}
	return c, nil
}

// watch reports the first connection that stops on its own.
func (c *Conns) watch(nc namedClient) {
	select {
	case <-nc.client.Quit():
	case <-c.stopped:
		return
	}
	select {
	case c.failed <- brokenError(c.app, nc.name, nc.client.Error()):
	default:
	}
}

// Failed delivers the first connection failure. The node must stop when it fires.
func (c *Conns) Failed() <-chan error { return c.failed }

// Close stops the four clients.
func (c *Conns) Close() error {
	var err error
	c.stopOnce.Do(func() {
		close(c.stopped)
		err = c.stopClients()
	})
	return err
}

func (c *Conns) stopClients() error {
	var errs []error
	for _, nc := range c.clients {
		if nc.client.IsRunning() {
			if err := nc.client.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("stop ABCI %s connection: %w", nc.name, err))
			}
		}
	}
	return errors.Join(errs...)
}
