// Package docker tests the image of this directory's Dockerfile on a 4-validator compose
// network that `tutti testnet --docker` generates. It runs under `make docker-testnet`
// (and CI's docker step), not in `make test`: it needs the image built first and docker.
package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	validators = 4
	// targetHeight is the acceptance of issue 10: the compose network commits 20 heights.
	targetHeight = 20
	// upAndCommitTimeout bounds starting the containers and reaching targetHeight; empty
	// blocks come at least once a second, so 20 heights take about half a minute.
	upAndCommitTimeout = 3 * time.Minute
	// cleanupTimeout is left to `compose down` after everything else, whatever happened.
	cleanupTimeout = time.Minute
	image          = "tutti:local"
	defaultProject = "tuttitestnet"
	defaultPort    = 26656
)

// TestComposeNetworkCommits generates the network with the same static binary the image
// holds, brings it up, waits until every node's RPC reports height 20 and the nodes agree
// on that block, and takes the network down again.
//
// Environment: TUTTI_DOCKER_TEST=1 runs it; TUTTI_BIN is the generating binary (default
// bin/docker/tutti, what `make docker` builds); TUTTI_DOCKER_DIR the directory to generate
// into (default a temporary one); TUTTI_DOCKER_PROJECT the compose project name;
// TUTTI_DOCKER_PORT the --starting-port, so node i's RPC is on 127.0.0.1:PORT+10i+1.
func TestComposeNetworkCommits(t *testing.T) {
	if os.Getenv("TUTTI_DOCKER_TEST") != "1" {
		t.Skip("set TUTTI_DOCKER_TEST=1 to run the compose network (make docker-testnet does)")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker is not on PATH: the compose network cannot run here")
	}
	// Past this point a missing piece is a failure: docker is here, so the test must run.
	compose := composeCommand(t)
	bin := envOr("TUTTI_BIN", filepath.Join("..", "..", "bin", "docker", "tutti"))
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no tutti binary at %s (run `make docker` first, or set TUTTI_BIN): %v", bin, err)
	}
	if out, err := run(context.Background(), time.Minute, "docker", "image", "inspect", image); err != nil {
		t.Fatalf("no image %s (run `make docker` first): %v\n%s", image, err, out)
	}
	dir := os.Getenv("TUTTI_DOCKER_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if _, err := os.Stat(filepath.Join(dir, "node0")); err == nil {
		// Old homes would carry keys and blocks of another chain into this one.
		t.Fatalf("%s already holds a network; remove it first", dir)
	}
	port, err := strconv.Atoi(envOr("TUTTI_DOCKER_PORT", strconv.Itoa(defaultPort)))
	if err != nil {
		t.Fatalf("TUTTI_DOCKER_PORT: %v", err)
	}
	project := envOr("TUTTI_DOCKER_PROJECT", defaultProject)

	deadline := time.Now().Add(upAndCommitTimeout)
	if d, ok := t.Deadline(); ok && d.Add(-cleanupTimeout).Before(deadline) {
		// go test's own timeout kills the process without running cleanups: stop early
		// enough that `compose down` still runs.
		deadline = d.Add(-cleanupTimeout)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()

	if out, err := run(ctx, time.Minute, bin, "testnet", "--docker", "--v", strconv.Itoa(validators), "--o", dir,
		"--chain-id", "tutti-docker", "--starting-port", strconv.Itoa(port)); err != nil {
		t.Fatalf("tutti testnet --docker: %v\n%s", err, out)
	}
	composeArgs := append(append([]string{}, compose[1:]...), "-p", project, "-f", filepath.Join(dir, "docker-compose.yml"))
	composeRun := func(ctx context.Context, limit time.Duration, args ...string) (string, error) {
		return run(ctx, limit, compose[0], append(append([]string{}, composeArgs...), args...)...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := composeRun(context.Background(), 30*time.Second, "logs", "--no-color", "--tail", "40")
			t.Logf("the nodes' last log lines:\n%s", out)
		}
		// -t 5: the nodes stop cleanly on SIGTERM well within it; -v drops anything
		// anonymous the containers made (the homes are bind mounts and stay in dir).
		if out, err := composeRun(context.Background(), cleanupTimeout, "down", "-v", "-t", "5"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})

	start := time.Now()
	if out, err := composeRun(ctx, 2*time.Minute, "up", "-d"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	up := time.Since(start)

	client := &http.Client{Timeout: 2 * time.Second}
	heights := make([]int64, validators)
	lastLog := time.Now()
	for {
		done := true
		for i := range heights {
			h, err := latestHeight(ctx, client, rpcURL(port, i))
			if err == nil && h > heights[i] {
				heights[i] = h
			}
			if heights[i] < targetHeight {
				done = false
			}
		}
		if done {
			break
		}
		if time.Since(lastLog) >= 5*time.Second {
			t.Logf("%4.0fs heights %v", time.Since(start).Seconds(), heights)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %s the heights are %v, not all %d yet", time.Since(start).Round(time.Second), heights, targetHeight)
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Logf("containers up in %s; every node at height >= %d after %s (heights %v)",
		up.Round(100*time.Millisecond), targetHeight, time.Since(start).Round(100*time.Millisecond), heights)

	// Reaching the height alone could be four separate chains: they must hold one block.
	var want string
	for i := range heights {
		hash, err := blockHash(ctx, client, rpcURL(port, i), targetHeight)
		if err != nil {
			t.Fatalf("node%d: block %d: %v", i, targetHeight, err)
		}
		if want == "" {
			want = hash
		} else if hash != want {
			t.Fatalf("node%d has block %d %s, node0 has %s", i, targetHeight, hash, want)
		}
	}
	// A node started before a peer's container runs cannot resolve its name yet, exits and
	// is restarted (the compose file's restart policy); more than a few restarts is worth
	// a look, so the counts are logged.
	if ids, err := composeRun(ctx, 30*time.Second, "ps", "-q"); err == nil {
		args := append([]string{"inspect", "-f", "{{.Name}} restarts={{.RestartCount}}"}, strings.Fields(ids)...)
		if out, err := run(ctx, 30*time.Second, "docker", args...); err == nil {
			t.Logf("containers:\n%s", strings.TrimSpace(out))
		}
	}
}

// composeCommand is the Compose tool here: the docker plugin (`docker compose`) where it is
// installed, else the standalone docker-compose (Debian's package).
func composeCommand(t *testing.T) []string {
	if _, err := run(context.Background(), 30*time.Second, "docker", "compose", "version"); err == nil {
		return []string{"docker", "compose"}
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	t.Fatal("docker is on PATH but neither `docker compose` nor docker-compose is")
	return nil
}

// run runs a command bounded by limit and by ctx, and returns its combined output.
func run(ctx context.Context, limit time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	// A killed command's children (compose's own processes) must not keep the pipes open.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.String(), err
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// rpcURL is where the compose file publishes node i's RPC (tutti testnet --docker).
func rpcURL(startingPort, i int) string {
	return fmt.Sprintf("http://127.0.0.1:%d", startingPort+10*i+1)
}

// latestHeight is sync_info.latest_block_height of GET /status, as CometBFT serves it.
func latestHeight(ctx context.Context, client *http.Client, base string) (int64, error) {
	var res struct {
		SyncInfo struct {
			LatestBlockHeight string `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if err := getResult(ctx, client, base+"/status", &res); err != nil {
		return 0, err
	}
	return strconv.ParseInt(res.SyncInfo.LatestBlockHeight, 10, 64)
}

// blockHash is block_id.hash of GET /block?height=H.
func blockHash(ctx context.Context, client *http.Client, base string, height int64) (string, error) {
	var res struct {
		BlockID struct {
			Hash string `json:"hash"`
		} `json:"block_id"`
	}
	if err := getResult(ctx, client, fmt.Sprintf("%s/block?height=%d", base, height), &res); err != nil {
		return "", err
	}
	if res.BlockID.Hash == "" {
		return "", fmt.Errorf("no block_id.hash")
	}
	return res.BlockID.Hash, nil
}

// getResult decodes the result of a JSON-RPC answer to a GET.
func getResult(ctx context.Context, client *http.Client, url string, result any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if body.Error != nil {
		return fmt.Errorf("%s: %s %s", url, body.Error.Message, body.Error.Data)
	}
	return json.Unmarshal(body.Result, result)
}
