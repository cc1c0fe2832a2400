package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tutti-bft/tutti/engine/config"
)

// The ports every node listens on inside its own container (CometBFT's defaults): each
// container has its own address, so the nodes need not be spread over ports as on one host.
const (
	dockerP2PPort     = 26656
	dockerRPCPort     = 26657
	dockerMetricsPort = 26660
	// dockerImage is the tag `make docker` gives the image of testnet/docker/Dockerfile.
	dockerImage = "tutti:local"
	// dockerHome is where the image's default command looks for the home.
	dockerHome = "/tutti"
	// composeFile is written next to the node homes, so its relative bind mounts
	// (./node0, ...) resolve whichever directory the network was generated into.
	composeFile = "docker-compose.yml"
)

// dockerService is node i's compose service name, which is also its host name on the
// compose network: peers are listed by it, so the homes do not depend on the addresses
// docker hands out.
func dockerService(i int) string { return fmt.Sprintf("node%d", i) }

// useContainerAddresses makes cfg listen on the default ports on every interface of its
// container: RPC on 0.0.0.0 so that the port published on the host reaches it.
func useContainerAddresses(cfg *config.Config) {
	cfg.P2P.ListenAddress = fmt.Sprintf("tcp://0.0.0.0:%d", dockerP2PPort)
	cfg.RPC.ListenAddress = fmt.Sprintf("tcp://0.0.0.0:%d", dockerRPCPort)
	cfg.Instrumentation.PrometheusListenAddr = fmt.Sprintf("0.0.0.0:%d", dockerMetricsPort)
}

// dockerPeerAddress is how the other containers dial node i.
func dockerPeerAddress(i int) string { return fmt.Sprintf("%s:%d", dockerService(i), dockerP2PPort) }

// dockerHostRPCPort is the host port node i's RPC is published on: the RPC port the same
// node would have in a non-docker testnet from the same --starting-port, so clients and
// scripts address both kinds of network alike.
func dockerHostRPCPort(startingPort, i int) int {
	return startingPort + portStride*i + rpcOffset
}

// writeCompose writes DIR/docker-compose.yml: one service per node, running the image on
// the node's home. Only RPC is published, and only on loopback: p2p and metrics stay on
// the compose network, and nothing of a test network is reachable from other hosts.
func writeCompose(opt testnetOptions) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `tutti testnet --docker` (chain %s): %d validators on one compose network.\n", opt.chainID, opt.validators)
	b.WriteString("# Build the image with `make docker`; `docker compose up -d` starts the network, `docker compose down -v` removes it.\n")
	b.WriteString("services:\n")
	for i := 0; i < opt.validators; i++ {
		name := dockerService(i)
		fmt.Fprintf(&b, "  %s:\n", name)
		fmt.Fprintf(&b, "    image: %q\n", dockerImage)
		fmt.Fprintf(&b, "    command: [\"start\", \"--home\", %q]\n", dockerHome)
		if u := composeUser(); u != "" {
			// The homes belong to whoever generated them (keys are 0600): the node runs as
			// that user so that it can read them and the files it writes stay removable.
			fmt.Fprintf(&b, "    user: %q\n", u)
		}
		b.WriteString("    volumes:\n")
		fmt.Fprintf(&b, "      - %q\n", "./"+name+":"+dockerHome)
		b.WriteString("    ports:\n")
		fmt.Fprintf(&b, "      - %q\n", fmt.Sprintf("127.0.0.1:%d:%d", dockerHostRPCPort(opt.startingPort, i), dockerRPCPort))
		// A node resolves its peers' names when it starts, and docker's DNS knows a
		// container only once it runs: a node started before the last of its peers exits
		// and is started again, by then finding every name.
		b.WriteString("    restart: on-failure\n")
	}
	return os.WriteFile(filepath.Join(opt.outputDir, composeFile), []byte(b.String()), 0o644)
}

// composeUser is "uid:gid" of this process, or "" where there is none (Windows).
func composeUser() string {
	uid, gid := os.Getuid(), os.Getgid()
	if uid < 0 || gid < 0 {
		return ""
	}
	return fmt.Sprintf("%d:%d", uid, gid)
}
