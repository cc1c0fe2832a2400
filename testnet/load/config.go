package load

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/tutti-bft/tutti/testnet/accounts"
)

// Config is one run of the load generator.
type Config struct {
	Endpoints   []string      // node RPC addresses: http://host:port, tcp://host:port or host:port
	Rate        float64       // open loop: transactions per second offered
	Duration    time.Duration // how long to send
	ClosedLoop  bool          // closed loop: Concurrency workers, each waits for its transaction's commit
	Concurrency int           // closed loop: workers; open loop: broadcasts in flight at most
	App         string        // "kvstore" or "ledger"
	Transport   string        // how broadcasts travel: "http" (a request each) or "ws" (one websocket per endpoint)
	// Batch, above 1, sends up to that many due transactions to one endpoint in one
	// JSON-RPC batch request (open loop over HTTP; the node's [rpc] max_request_batch_size
	// must allow it). 0 or 1: one request per transaction.
	Batch int
	Size  int           // kvstore: bytes per transaction
	Drain time.Duration // after sending, how long to wait for accepted transactions to commit
	// Observe is how many endpoints, the first ones, have their NewBlock events watched
	// for commits (0, the zero value: one; more than there are: all; tutti load's
	// --observe 0 asks for all). Every node executes every block, so
	// one suffices; more see each commit at the first node to report it, and catch a
	// transaction committed at two heights on any of them.
	Observe int
	// WindowFrom, if positive, adds to the report the latencies of transactions due from
	// this long after the start of sending, and the longest stall between new heights
	// from then on: the cost of a fault injected at that moment.
	WindowFrom time.Duration
	// AtWindow, if set, is called once when the window opens (in its own goroutine): the
	// benchmark kills a validator there.
	AtWindow func()
	// CommitWait bounds how long a closed-loop worker waits for its transaction's commit.
	CommitWait time.Duration

	LedgerSeed     string // seed of the funded accounts (testnet/accounts)
	LedgerAccounts int    // how many of them to send from

	// Progress receives the live line once a second (nil: none); ProgressTTY rewrites one
	// line in place instead of printing one line per second.
	Progress    io.Writer
	ProgressTTY bool
	// Interrupt, when closed, ends the send phase early; the drain still runs. Cancelling
	// Run's context stops everything at once.
	Interrupt <-chan struct{}
}

// Defaults fills the unset fields.
func (c *Config) Defaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 64
	}
	if c.Transport == "" {
		c.Transport = "http"
	}
	if c.App == "" {
		c.App = "kvstore"
	}
	if c.Size == 0 {
		c.Size = 100
	}
	if c.Observe == 0 {
		c.Observe = 1
	}
	if c.Drain == 0 {
		c.Drain = 10 * time.Second
	}
	if c.CommitWait == 0 {
		c.CommitWait = 30 * time.Second
	}
	if c.LedgerSeed == "" {
		c.LedgerSeed = accounts.DefaultSeed
	}
	if c.LedgerAccounts == 0 {
		c.LedgerAccounts = 1000
	}
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	switch {
	case len(c.Endpoints) == 0:
		return errors.New("load: no endpoints")
	case !c.ClosedLoop && c.Rate <= 0:
		return fmt.Errorf("load: --rate must be positive for the open loop, got %g", c.Rate)
	case c.Duration <= 0:
		return fmt.Errorf("load: --duration must be positive, got %v", c.Duration)
	case c.Concurrency < 1:
		return fmt.Errorf("load: --concurrency must be at least 1, got %d", c.Concurrency)
	case c.Transport != "http" && c.Transport != "ws":
		return fmt.Errorf("load: --transport %q: want http or ws", c.Transport)
	case c.App != "kvstore" && c.App != "ledger":
		return fmt.Errorf("load: --app %q: want kvstore or ledger", c.App)
	case c.App == "kvstore" && c.Size < 16:
		return fmt.Errorf("load: --size %d is too small for a unique key=value transaction (at least 16)", c.Size)
	case c.App == "ledger" && c.LedgerAccounts < 1:
		return fmt.Errorf("load: --ledger-accounts must be at least 1, got %d", c.LedgerAccounts)
	case c.WindowFrom < 0 || (c.WindowFrom > 0 && c.WindowFrom >= c.Duration):
		return fmt.Errorf("load: --window-from %v must fall within --duration %v", c.WindowFrom, c.Duration)
	case c.Observe < 0:
		return fmt.Errorf("load: --observe must not be negative, got %d", c.Observe)
	case c.Drain < 0:
		return fmt.Errorf("load: --drain must not be negative, got %v", c.Drain)
	case c.Batch < 0:
		return fmt.Errorf("load: --batch must not be negative, got %d", c.Batch)
	case c.Batch > 1 && (c.ClosedLoop || c.Transport != "http"):
		return errors.New("load: --batch needs the open loop over --transport http")
	}
	for _, e := range c.Endpoints {
		if _, err := NormalizeEndpoint(e); err != nil {
			return err
		}
	}
	return nil
}

// NormalizeEndpoint turns tcp://host:port (config.toml's form) or host:port into the
// http:// address cometbft's RPC client wants.
func NormalizeEndpoint(e string) (string, error) {
	e = strings.TrimSpace(e)
	switch {
	case strings.HasPrefix(e, "tcp://"):
		e = "http://" + strings.TrimPrefix(e, "tcp://")
	case !strings.Contains(e, "://"):
		e = "http://" + e
	}
	u, err := url.Parse(e)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("load: endpoint %q is not http://host:port", e)
	}
	return strings.TrimRight(e, "/"), nil
}
