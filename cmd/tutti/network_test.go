package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/store"
	"github.com/tutti-bft/tutti/engine/types"
	tnlocalnet "github.com/tutti-bft/tutti/testnet/localnet"
)

// These tests run real processes of the built binary on loopback: `tutti testnet` writes
// the homes, `tutti start` runs each node, and the checks read the nodes' logs while they
// run and their block stores once they stopped.

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// tuttiBinary builds cmd/tutti once for the test run.
func tuttiBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tutti-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "tutti")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// freePortBase finds P such that the ports a testnet of n nodes uses (P+10i .. P+10i+4)
// are free on loopback now (testnet/localnet's search, from a per-process start so that
// parallel test binaries rarely collide).
func freePortBase(t *testing.T, n int) int {
	t.Helper()
	base, err := tnlocalnet.FreePortBase(30000+os.Getpid()%2000*10, n)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// localnet is a generated testnet of processes (testnet/localnet's, which makes the homes
// with `tutti testnet` and runs each node in its own process group, its log in its home),
// with what these tests read from the nodes' logs and stores.
type localnet struct {
	t   *testing.T
	bin string
	*tnlocalnet.Network
	homes []string
}

// newLocalnet writes the homes of an n-validator network; testnetArgs go to tutti testnet.
func newLocalnet(t *testing.T, n int, testnetArgs ...string) *localnet {
	bin := tuttiBinary(t)
	net, err := tnlocalnet.Generate(context.Background(), tnlocalnet.Options{Bin: bin, Dir: t.TempDir(),
		Validators: n, StartingPort: freePortBase(t, n), ExtraArgs: testnetArgs})
	if err != nil {
		t.Fatal(err)
	}
	ln := &localnet{t: t, bin: bin, Network: net, homes: net.Homes}
	for _, home := range ln.homes {
		// Empty blocks every 200 ms instead of every second, so a test reaches its heights
		// in seconds.
		cfgPath := filepath.Join(home, "config", "config.toml")
		cfg, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		cfg = regexp.MustCompile(`(?m)^max_empty_block_interval = .*$`).ReplaceAll(cfg, []byte(`max_empty_block_interval = "200ms"`))
		if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for i := range ln.homes {
			ln.kill(i)
		}
	})
	return ln
}

// addHome adds a node whose home the test prepared.
func (ln *localnet) addHome(home string) int {
	i := ln.AddNode(home)
	ln.homes = ln.Homes
	return i
}

// logCount counts the lines of node i's log that contain text.
func (ln *localnet) logCount(i int, text string) int {
	ln.t.Helper()
	bz, err := os.ReadFile(filepath.Join(ln.homes[i], "node.log"))
	if err != nil && !os.IsNotExist(err) {
		ln.t.Fatal(err)
	}
	return strings.Count(string(bz), text)
}

// start runs node i; its output is appended to node.log in its home.
func (ln *localnet) start(i int) { ln.startEnv(i) }

// startEnv runs node i with extra environment variables.
func (ln *localnet) startEnv(i int, env ...string) {
	ln.t.Helper()
	if err := ln.Start(i, env...); err != nil {
		ln.t.Fatal(err)
	}
}

// kill sends SIGKILL: no shutdown code runs.
func (ln *localnet) kill(i int) { ln.Kill(i) }

// stop sends SIGTERM and expects a clean exit.
func (ln *localnet) stop(i int) {
	ln.t.Helper()
	if err := ln.Stop(i, 20*time.Second); err != nil {
		ln.t.Errorf("%v\n%s", err, ln.tail(i, 20))
	}
}

var committedLine = regexp.MustCompile(`committed .*height=(\d+)`)

// commits returns the heights node i logged as committed, with when it logged them, from
// its whole log (every run).
func (ln *localnet) commits(i int) (heights []int64) {
	f, err := os.Open(filepath.Join(ln.homes[i], "node.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := committedLine.FindSubmatch(sc.Bytes()); m != nil {
			h, _ := strconv.ParseInt(string(m[1]), 10, 64)
			heights = append(heights, h)
		}
	}
	return heights
}

func (ln *localnet) height(i int) int64 {
	hs := ln.commits(i)
	if len(hs) == 0 {
		return 0
	}
	return hs[len(hs)-1]
}

func (ln *localnet) tail(i, lines int) string {
	bz, _ := os.ReadFile(filepath.Join(ln.homes[i], "node.log"))
	all := strings.Split(strings.TrimRight(string(bz), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// waitHeight waits until every listed node logged height h.
func (ln *localnet) waitHeight(nodes []int, h int64, within time.Duration) {
	ln.t.Helper()
	deadline := time.Now().Add(within)
	for {
		done := true
		for _, i := range nodes {
			if exited, err := ln.Wait(i, 0); exited {
				ln.t.Fatalf("node %d exited: %v\n%s", i, err, ln.tail(i, 30))
			}
			if ln.height(i) < h {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			var got []string
			for _, i := range nodes {
				got = append(got, fmt.Sprintf("node %d at %d", i, ln.height(i)))
			}
			ln.t.Fatalf("not every node reached height %d within %v: %s\n%s", h, within, strings.Join(got, ", "), ln.tail(nodes[0], 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// chainSummary is what a stopped node's store holds: block hash and app hash per height,
// and every DAG block it kept.
type chainSummary struct {
	hashes, appHashes map[int64][]byte
	height            int64
	blocks            []*types.Block
	txHeights         map[string][]int64 // every height each transaction was committed at
}

func (ln *localnet) readStore(i int) chainSummary {
	ln.t.Helper()
	s, err := store.Open(filepath.Join(ln.homes[i], "data"))
	if err != nil {
		ln.t.Fatalf("node %d store: %v", i, err)
	}
	defer s.Close()
	sum := chainSummary{hashes: map[int64][]byte{}, appHashes: map[int64][]byte{}, height: s.Height(),
		txHeights: map[string][]int64{}}
	for h := int64(1); h <= s.Height(); h++ {
		b, r, err := s.Executed(h)
		if err != nil {
			ln.t.Fatalf("node %d height %d: %v", i, h, err)
		}
		sum.hashes[h], sum.appHashes[h] = b.Hash, r.AppHash
		for _, tx := range b.Txs {
			sum.txHeights[string(tx)] = append(sum.txHeights[string(tx)], h)
		}
	}
	if sum.blocks, err = s.Blocks(); err != nil {
		ln.t.Fatalf("node %d blocks: %v", i, err)
	}
	return sum
}

// checkStores: every node's chain agrees with every other's at every height both hold,
// and no validator signed two different blocks for one slot, across everything any node
// stored (each node stores its own blocks and every block it accepted from others).
func (ln *localnet) checkStores(minHeight int64) []chainSummary {
	ln.t.Helper()
	sums := make([]chainSummary, len(ln.homes))
	for i := range ln.homes {
		sums[i] = ln.readStore(i)
		if sums[i].height < minHeight {
			ln.t.Errorf("node %d stored %d heights, want at least %d", i, sums[i].height, minHeight)
		}
	}
	for i := 1; i < len(sums); i++ {
		for h := int64(1); h <= min(sums[0].height, sums[i].height); h++ {
			if !bytes.Equal(sums[0].hashes[h], sums[i].hashes[h]) || !bytes.Equal(sums[0].appHashes[h], sums[i].appHashes[h]) {
				ln.t.Fatalf("height %d: node 0 has block %X app %X, node %d has block %X app %X", h,
					sums[0].hashes[h], sums[0].appHashes[h], i, sums[i].hashes[h], sums[i].appHashes[h])
			}
		}
	}
	type slot struct {
		epoch, round uint64
		author       int
	}
	signed := map[slot]types.Digest{}
	total := 0
	for _, s := range sums {
		for _, b := range s.blocks {
			k := slot{b.Epoch, b.Round, b.Author}
			if d, ok := signed[k]; ok && d != b.Digest() {
				ln.t.Fatalf("validator %d signed two blocks for epoch %d round %d", b.Author, b.Epoch, b.Round)
			}
			signed[k] = b.Digest()
			total++
		}
	}
	ln.t.Logf("checked %d stored DAG blocks (%d slots): no slot signed twice", total, len(signed))
	return sums
}

func all(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestFourValidatorsAgreeSurviveKillsAndRestart: 4 validators with the kvstore app run as
// separate processes. They reach height 50 with identical block and app hashes; with one
// validator killed (-9) the other three keep committing without a stall; restarted, it
// catches up; all four killed and restarted, the chain continues from its last height; a
// SIGTERM stops each cleanly; and across every DAG block any node stored, no slot was
// signed twice.
func TestFourValidatorsAgreeSurviveKillsAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 node processes for about a minute")
	}
	ln := newLocalnet(t, 4)
	for i := range ln.homes {
		ln.start(i)
	}
	ln.waitHeight(all(4), 15, 60*time.Second)

	// One validator killed: the other three go on, with no gap between commits longer
	// than a few empty-block intervals.
	ln.kill(3)
	before := ln.height(0)
	killedAt := time.Now()
	ln.waitHeight([]int{0, 1, 2}, before+15, 30*time.Second)
	outage := time.Since(killedAt)
	t.Logf("with validator 3 down: heights %d -> %d in %v", before, ln.height(0), outage.Round(time.Millisecond))
	if perHeight := outage / 15; perHeight > time.Second {
		t.Fatalf("the three survivors took %v per height with one validator down", perHeight)
	}

	// Restarted, it catches up with the others.
	ln.start(3)
	ln.waitHeight(all(4), 50, 60*time.Second)

	// Every node killed at once, then restarted: the chain continues from where it was.
	for i := range ln.homes {
		ln.kill(i)
	}
	stopped := make([]int64, 4)
	for i := range ln.homes {
		stopped[i] = ln.readStore(i).height
		ln.start(i)
	}
	top := max(stopped[0], stopped[1], stopped[2], stopped[3])
	ln.waitHeight(all(4), top+10, 60*time.Second)
	for i := range ln.homes {
		ln.stop(i)
	}
	sums := ln.checkStores(top + 10)
	t.Logf("heights stored: %d %d %d %d (all stopped at %v, restarted)", sums[0].height, sums[1].height, sums[2].height, sums[3].height, stopped)
}

// TestCrashPointsLoseNothingAndNeverDoubleSign kills one validator (SIGKILL sent by the
// process to itself) at each crash point of the propose, persist, commit and execute paths,
// then restarts it: it rejoins and catches up, every node agrees on every height, and no
// slot was signed twice across every DAG block any node stored. The app keeps its state on
// disk (CometBFT's persistent kvstore), so a crash between the block store's write and the
// app's Commit ("commit") leaves the app one height behind the store, which the handshake
// replays: the store is written first so that the app is never ahead of it.
func TestCrashPointsLoseNothingAndNeverDoubleSign(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 node processes for about a minute")
	}
	ln := newLocalnet(t, 4, "--proxy_app", "persistent_kvstore")
	for i := range ln.homes {
		ln.start(i)
	}
	ln.waitHeight(all(4), 5, 60*time.Second)
	// Clients send to the three validators that never crash (a crashed node's mempool is
	// lost with it, as CometBFT's is): every transaction they acknowledge must be committed
	// exactly once, whatever node 3 lost.
	load := ln.startTxLoad([]int{0, 1, 2}, 40)
	for _, point := range []string{"sign", "persist", "commit", "execute"} {
		ln.stop(3)
		before := ln.height(3)
		ln.startEnv(3, "TUTTI_CRASHPOINT="+point+":3")
		exited, err := ln.Wait(3, 60*time.Second)
		if !exited {
			t.Fatalf("crash point %s was never reached", point)
		}
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("crash point %s: node 3 exited with %v, want SIGKILL\n%s", point, err, ln.tail(3, 20))
		}
		replayedBefore := ln.logCount(3, "replayed a stored height into the app")
		ln.start(3)
		top := max(ln.height(0), ln.height(1), ln.height(2))
		ln.waitHeight(all(4), top+5, 60*time.Second)
		replayed := ln.logCount(3, "replayed a stored height into the app") - replayedBefore
		if want := map[bool]int{true: 1}[point == "commit"]; replayed != want {
			t.Fatalf("crash point %s: the restart replayed %d heights into the app, want %d\n%s", point, replayed, want, ln.tail(3, 30))
		}
		t.Logf("crash point %s: node 3 died at the 3rd pass (height %d before), rejoined at %d", point, before, ln.height(3))
	}
	acked := load.stop()
	top := max(ln.height(0), ln.height(1), ln.height(2))
	ln.waitHeight(all(4), top+3, 30*time.Second)
	for i := range ln.homes {
		ln.stop(i)
	}
	sums := ln.checkStores(20)
	for _, sum := range sums {
		checkTxsCommittedOnce(t, sum, acked)
	}
}
