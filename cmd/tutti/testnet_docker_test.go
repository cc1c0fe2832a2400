package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/p2p"

	"github.com/tutti-bft/tutti/engine/config"
)

// The containers' side of `tutti testnet --docker`: every node on the default ports on
// all interfaces, peers by service name, and a compose file that mounts each home and
// publishes only RPC, on loopback, at the non-docker testnet's RPC ports.
func TestTestnetDockerHomesAndCompose(t *testing.T) {
	dir := t.TempDir()
	const n = 4
	run(t, "testnet", "--docker", "--v", "4", "--o", dir, "--chain-id", "tn-docker", "--starting-port", "36656")

	ids := make([]string, n)
	cfgs := make([]*config.Config, n)
	for i := range cfgs {
		cfg, err := config.Load(filepath.Join(dir, fmt.Sprintf("node%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		key, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
		if err != nil {
			t.Fatal(err)
		}
		cfgs[i], ids[i] = cfg, string(key.ID())
	}
	for i, cfg := range cfgs {
		for _, c := range []struct{ key, got, want string }{
			{"p2p.laddr", cfg.P2P.ListenAddress, "tcp://0.0.0.0:26656"},
			{"rpc.laddr", cfg.RPC.ListenAddress, "tcp://0.0.0.0:26657"},
			{"instrumentation.prometheus_listen_addr", cfg.Instrumentation.PrometheusListenAddr, "0.0.0.0:26660"},
		} {
			if c.got != c.want {
				t.Errorf("node%d %s = %q, want %q", i, c.key, c.got, c.want)
			}
		}
		var want []string
		for j := range cfgs {
			if j != i {
				want = append(want, fmt.Sprintf("%s@node%d:26656", ids[j], j))
			}
		}
		got := config.SplitList(cfg.P2P.PersistentPeers)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("node%d persistent_peers = %v, want %v", i, got, want)
		}
	}

	compose := string(readFile(t, filepath.Join(dir, "docker-compose.yml")))
	services := composeServices(t, compose)
	if len(services) != n {
		t.Fatalf("compose file has services %v, want node0..node%d", services, n-1)
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("node%d", i)
		want := strings.Join([]string{
			`    image: "tutti:local"`,
			`    command: ["start", "--home", "/tutti"]`,
			fmt.Sprintf(`    user: "%d:%d"`, os.Getuid(), os.Getgid()),
			`    volumes:`,
			fmt.Sprintf(`      - "./%s:/tutti"`, name),
			`    ports:`,
			// Only RPC, only loopback, at 36656+10i+1 as a non-docker testnet would use.
			fmt.Sprintf(`      - "127.0.0.1:%d:26657"`, 36657+10*i),
			`    restart: on-failure`,
		}, "\n")
		if got := services[name]; got != want {
			t.Errorf("service %s:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

// composeServices splits the services section of a generated compose file into each
// service's lines (the generator writes one fixed layout: two-space service names).
func composeServices(t *testing.T, compose string) map[string]string {
	t.Helper()
	_, body, ok := strings.Cut(compose, "\nservices:\n")
	if !ok {
		t.Fatalf("no services section in:\n%s", compose)
	}
	services := map[string]string{}
	var name string
	var lines []string
	flush := func() {
		if name != "" {
			services[name] = strings.Join(lines, "\n")
		}
	}
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") && strings.HasSuffix(line, ":") {
			flush()
			name, lines = strings.TrimSuffix(strings.TrimSpace(line), ":"), nil
			continue
		}
		lines = append(lines, line)
	}
	flush()
	return services
}

// Without --docker nothing of the above changes: loopback addresses spread over ports, and
// no compose file.
func TestTestnetWithoutDockerWritesNoCompose(t *testing.T) {
	dir := t.TempDir()
	run(t, "testnet", "--v", "2", "--o", dir, "--chain-id", "tn", "--starting-port", "36656")
	if _, err := os.Stat(filepath.Join(dir, "docker-compose.yml")); !os.IsNotExist(err) {
		t.Fatalf("docker-compose.yml written without --docker (stat: %v)", err)
	}
	cfg, err := config.Load(filepath.Join(dir, "node1"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RPC.ListenAddress != "tcp://127.0.0.1:36667" || !strings.Contains(cfg.P2P.PersistentPeers, "@127.0.0.1:36656") {
		t.Fatalf("node1: rpc.laddr %q, persistent_peers %q", cfg.RPC.ListenAddress, cfg.P2P.PersistentPeers)
	}
}
