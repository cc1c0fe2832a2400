package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestShippedManifestsParse: every manifest in manifests/ is valid.
func TestShippedManifestsParse(t *testing.T) {
	paths, err := filepath.Glob("manifests/*.toml")
	if err != nil || len(paths) < 3 {
		t.Fatalf("manifests: %v %v", paths, err)
	}
	for _, p := range paths {
		if _, err := LoadManifest(p); err != nil {
			t.Error(err)
		}
	}
}

func TestManifestDefaultsAndNames(t *testing.T) {
	m, err := ParseManifest([]byte(`
twins = ["node1"]
[load]
rate = 10
[[perturb]]
at = "2s"
action = "kill"
node = "node3"
for = "1s"
[[perturb]]
at = "1s"
action = "pause"
node = "node0"
`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Validators != 4 || m.App != "ledger" || m.Duration.D() != 30*time.Second || m.LivenessHeights != 3 {
		t.Fatalf("defaults: %+v", m)
	}
	if got := m.NodeNames(); !slices.Equal(got, []string{"node0", "node1", "node2", "node3", "twin-node1"}) {
		t.Fatalf("names %v", got)
	}
	if got := m.Honest(); !slices.Equal(got, []string{"node0", "node2", "node3"}) {
		t.Fatalf("honest %v", got)
	}
	// The load avoids the node that is killed (its mempool dies with it) and the
	// byzantine one; a paused node keeps what it acknowledged.
	if !slices.Equal(m.Load.Nodes, []string{"node0", "node2"}) {
		t.Fatalf("load nodes %v", m.Load.Nodes)
	}
	r := &runner{m: m}
	var got []string
	for _, s := range r.timeline() {
		got = append(got, s.at.String()+" "+s.p.Action+map[bool]string{true: " undo"}[s.undo])
	}
	if want := []string{"1s pause", "2s kill", "3s kill undo"}; !slices.Equal(got, want) {
		t.Fatalf("timeline %v, want %v", got, want)
	}
}

// TestManifestErrors: a mistake in a manifest is refused with a message naming it, never
// run as some other scenario.
func TestManifestErrors(t *testing.T) {
	for _, c := range []struct{ toml, want string }{
		{`validatorz = 4`, "validatorz"},
		{`app = "redis"`, `app = "redis"`},
		{`app = "external"`, "app_command"},
		{`twins = ["node9"]`, `"node9" is not a validator`},
		{"[[perturb]]\nat = \"1s\"\naction = \"explode\"\nnode = \"node0\"", `action "explode"`},
		{"[[perturb]]\nat = \"1s\"\naction = \"kill\"\nnode = \"node7\"", `unknown node "node7"`},
		{"[[perturb]]\nat = \"99s\"\naction = \"kill\"\nnode = \"node1\"", "outside the run"},
		{"[[perturb]]\nat = \"1s\"\naction = \"delay\"\nnode = \"node1\"", "delay needs"},
		{"[[perturb]]\nat = \"1s\"\naction = \"partition\"\ngroups = [[\"node0\"], [\"node0\", \"node1\"]]", "in two groups"},
		{"app = \"kvstore\"\n[[perturb]]\nat = \"1s\"\naction = \"truncate\"\nnode = \"node1\"", "bytes > 0"},
		{"[[perturb]]\nat = \"1s\"\naction = \"truncate\"\nnode = \"node1\"\nbytes = 10", `truncate needs app = "kvstore"`},
		{"[load]\nrate = 5\nnodes = [\"node1\"]\n[[perturb]]\nat = \"1s\"\naction = \"restart\"\nnode = \"node1\"", "loses its mempool"},
	} {
		_, err := ParseManifest([]byte(c.toml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.toml, err, c.want)
		}
	}
}
