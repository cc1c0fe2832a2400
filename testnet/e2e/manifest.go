package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// Manifest is one end-to-end scenario, as read from TOML (manifests/*.toml has examples).
type Manifest struct {
	// Validators is the number of validators, named node0, node1, ...
	Validators int `toml:"validators"`
	// App is what every node runs: a builtin (kvstore, persistent_kvstore, ledger) in
	// process, or "external": AppCommand is started once per node as its own process and
	// the node talks to it over a socket.
	App string `toml:"app"`
	// AppCommand is the external app's command line; "{addr}" in it becomes the address
	// (tcp://127.0.0.1:PORT) the app must listen on.
	AppCommand []string `toml:"app_command"`
	// Twins lists validators that get a twin: a second process, named twin-NAME, with the
	// same validator and node keys. A twin signs what its original signs, so each twinned
	// validator is byzantine (equivocating), which the checkers tolerate up to f.
	Twins []string `toml:"twins"`
	// Duration is how long the load runs and perturbations may start.
	Duration Duration `toml:"duration"`
	// GCDepth, if set, is every node's consensus gc_depth, to make catching up from
	// storage part of the scenario.
	GCDepth int `toml:"gc_depth"`
	// LivenessHeights and LivenessTimeout: after each heal every running node must have
	// executed LivenessHeights more heights than the top height at the heal, within
	// LivenessTimeout (L1).
	LivenessHeights int      `toml:"liveness_heights"`
	LivenessTimeout Duration `toml:"liveness_timeout"`

	Load    Load      `toml:"load"`
	Perturb []Perturb `toml:"perturb"`
}

// Load is the transactions sent during the run (testnet/load).
type Load struct {
	Rate float64 `toml:"rate"` // transactions per second, open loop; 0: no load
	// Nodes receive the broadcasts. By default every node no kill, restart or truncate
	// touches: a node killed loses its mempool (as CometBFT's does), so what it
	// acknowledged is not promised to commit.
	Nodes []string `toml:"nodes"`
	// Accounts: ledger only, how many funded accounts send transfers.
	Accounts int `toml:"accounts"`
	// Drain: after the duration, how long accepted transactions have to commit.
	Drain Duration `toml:"drain"`
}

// Perturb is one timed fault. Faults with For are undone after it (restart, resume,
// heal); faults without last to the end of the run, except restart and truncate, which
// are over once the node is up again.
type Perturb struct {
	At     Duration `toml:"at"`
	Action string   `toml:"action"` // kill, pause, restart, partition, delay, truncate
	Node   string   `toml:"node"`   // kill, pause, restart, delay, truncate
	// Groups: partition only, the sides; a node in no group is alone on its own side.
	Groups [][]string `toml:"groups"`
	For    Duration   `toml:"for"`
	Delay  Duration   `toml:"delay"` // delay: added to every byte each way on the node's links
	Bytes  int64      `toml:"bytes"` // truncate: cut from the tail of the node's newest journal
}

var actions = []string{"kill", "pause", "restart", "partition", "delay", "truncate"}

// Duration reads "5s"-style strings from TOML.
type Duration time.Duration

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes a Go duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D is the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// LoadManifest reads and checks a manifest file. Unknown keys are an error, so that a
// misspelt perturbation is not silently a scenario without it.
func LoadManifest(path string) (*Manifest, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseManifest decodes TOML, fills the defaults and validates.
func ParseManifest(raw []byte) (*Manifest, error) {
	var m Manifest
	dec := toml.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			return nil, fmt.Errorf("manifest: %s", strict.String())
		}
		return nil, fmt.Errorf("manifest: %w", err)
	}
	m.defaults()
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return &m, nil
}

func (m *Manifest) defaults() {
	if m.Validators == 0 {
		m.Validators = 4
	}
	if m.App == "" {
		m.App = "ledger"
	}
	if m.Duration == 0 {
		m.Duration = Duration(30 * time.Second)
	}
	if m.LivenessHeights == 0 {
		m.LivenessHeights = 3
	}
	if m.LivenessTimeout == 0 {
		m.LivenessTimeout = Duration(30 * time.Second)
	}
	if m.Load.Drain == 0 {
		m.Load.Drain = Duration(20 * time.Second)
	}
	if m.Load.Accounts == 0 {
		m.Load.Accounts = 200
	}
	if m.Load.Nodes == nil {
		m.Load.Nodes = m.untouchedNodes()
	}
}

// NodeNames are the validators then the twins, in the order their ports are laid out.
func (m *Manifest) NodeNames() []string {
	names := make([]string, 0, m.Validators+len(m.Twins))
	for i := range m.Validators {
		names = append(names, fmt.Sprintf("node%d", i))
	}
	for _, t := range m.Twins {
		names = append(names, twinName(t))
	}
	return names
}

func twinName(of string) string { return "twin-" + of }

// Honest are the nodes whose validator key only they hold: the checkers judge them.
func (m *Manifest) Honest() []string {
	var out []string
	for _, n := range m.NodeNames()[:m.Validators] {
		if !slices.Contains(m.Twins, n) {
			out = append(out, n)
		}
	}
	return out
}

// stoppedNodes are the nodes a kill, restart or truncate hits.
func (m *Manifest) stoppedNodes() map[string]bool {
	hit := map[string]bool{}
	for _, p := range m.Perturb {
		switch p.Action {
		case "kill", "restart", "truncate":
			hit[p.Node] = true
		}
	}
	return hit
}

// untouchedNodes are the honest nodes no kill, restart or truncate hits.
func (m *Manifest) untouchedNodes() []string {
	hit := m.stoppedNodes()
	var out []string
	for _, n := range m.Honest() {
		if !hit[n] {
			out = append(out, n)
		}
	}
	return out
}

func (m *Manifest) validate() error {
	names := m.NodeNames()
	known := func(n string) bool { return slices.Contains(names, n) }
	switch {
	case m.Validators < 1:
		return fmt.Errorf("validators = %d, want at least 1", m.Validators)
	case m.App == "external" && len(m.AppCommand) == 0:
		return errors.New(`app = "external" needs app_command`)
	case m.App != "external" && len(m.AppCommand) > 0:
		return fmt.Errorf("app_command is for app = \"external\", app is %q", m.App)
	case m.App != "external" && m.App != "kvstore" && m.App != "persistent_kvstore" && m.App != "ledger":
		return fmt.Errorf("app = %q: want kvstore, persistent_kvstore, ledger or external", m.App)
	case m.Duration.D() <= 0:
		return fmt.Errorf("duration = %v, want positive", m.Duration.D())
	case m.Load.Rate < 0:
		return fmt.Errorf("load.rate = %g, want at least 0", m.Load.Rate)
	case m.Load.Rate > 0 && len(m.Load.Nodes) == 0:
		return errors.New("load: every node is killed, restarted or truncated at some point: name load.nodes")
	}
	for _, t := range m.Twins {
		if !slices.Contains(names[:m.Validators], t) {
			return fmt.Errorf("twins: %q is not a validator", t)
		}
	}
	stopped := m.stoppedNodes()
	for _, n := range m.Load.Nodes {
		if !known(n) {
			return fmt.Errorf("load.nodes: unknown node %q", n)
		}
		if stopped[n] {
			return fmt.Errorf("load.nodes: %s is killed, restarted or truncated, which loses its mempool (as CometBFT's): what it acknowledged is not promised to commit, so S4 could not hold it to that", n)
		}
	}
	for i, p := range m.Perturb {
		if p.Action == "truncate" && m.App != "kvstore" {
			// The cut takes synced heights from the block store; an app that keeps its own
			// state on disk (or outlives the node, as an external one does) still has them,
			// and the node rightly refuses to start with an app ahead of its store, as
			// CometBFT does. The in-memory kvstore is rebuilt by replay instead.
			return fmt.Errorf("perturb %d: truncate needs app = \"kvstore\" (in process, in memory): %s keeps the heights the cut takes from the block store", i+1, m.App)
		}
		if err := p.validate(known, m.Duration.D()); err != nil {
			return fmt.Errorf("perturb %d (%s at %v): %w", i+1, p.Action, p.At.D(), err)
		}
	}
	return nil
}

func (p *Perturb) validate(known func(string) bool, duration time.Duration) error {
	if !slices.Contains(actions, p.Action) {
		return fmt.Errorf("action %q: want one of %s", p.Action, strings.Join(actions, ", "))
	}
	if p.At < 0 || p.At.D() > duration {
		return fmt.Errorf("at = %v is outside the run (duration %v)", p.At.D(), duration)
	}
	if p.For < 0 {
		return fmt.Errorf("for = %v, want positive", p.For.D())
	}
	if p.Action == "partition" {
		if p.Node != "" || len(p.Groups) < 1 {
			return errors.New("a partition names groups = [[...], [...]], not a node")
		}
		seen := map[string]bool{}
		for _, g := range p.Groups {
			for _, n := range g {
				if !known(n) {
					return fmt.Errorf("unknown node %q", n)
				}
				if seen[n] {
					return fmt.Errorf("node %q is in two groups", n)
				}
				seen[n] = true
			}
		}
		return nil
	}
	if !known(p.Node) {
		return fmt.Errorf("unknown node %q", p.Node)
	}
	switch p.Action {
	case "delay":
		if p.Delay <= 0 {
			return errors.New("delay needs delay = \"100ms\" or the like")
		}
	case "truncate":
		if p.Bytes <= 0 {
			return errors.New("truncate needs bytes > 0")
		}
		if p.For != 0 {
			return errors.New("truncate stops the node, cuts and starts it again: no for")
		}
	case "restart":
		if p.For != 0 {
			return errors.New("restart takes no for: the node is started again at once")
		}
	}
	return nil
}

// Sorted are the perturbations in time order (stable for equal times).
func (m *Manifest) sorted() []Perturb {
	out := slices.Clone(m.Perturb)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}
