package ledger

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// deterministicBlock derives block h from the state it will run on, so any
// two ledgers at the same height run the same next block.
func deterministicBlock(t testing.TB, app *App, keys []testKey, h int64) [][]byte {
	var raws [][]byte
	for i, k := range keys {
		if (i+int(h))%3 != 0 {
			continue
		}
		acc := balanceOf(t, app, k.addr)
		to := keys[(i*7+int(h))%len(keys)].addr
		raws = append(raws, transfer(t, k, to, 1+uint64(h)%5, 1, acc.Nonce))
	}
	return raws
}

func TestAbandonedBlockIsLostAndReplays(t *testing.T) {
	keys := testKeys(10)
	dir := t.TempDir()
	app, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	initApp(t, app, keys, 1000)
	for h := int64(1); h <= 5; h++ {
		runBlock(t, app, h, deterministicBlock(t, app, keys, h))
	}
	committed := app.store.AppHash()
	block6 := deterministicBlock(t, app, keys, 6)
	first, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 6, Txs: block6, ProposerAddress: proposer[:]})
	if err != nil {
		t.Fatal(err)
	}
	app.Close() // crash point: after FinalizeBlock, before Commit

	app = openApp(t, dir)
	info, _ := app.Info(ctx, &abci.RequestInfo{})
	if info.LastBlockHeight != 5 || string(info.LastBlockAppHash) != string(committed) {
		t.Fatalf("after the crash Info = %d %X, want 5 %X", info.LastBlockHeight, info.LastBlockAppHash, committed)
	}
	replayed := runBlock(t, app, 6, block6)
	if string(replayed.AppHash) != string(first.AppHash) {
		t.Fatal("replaying the lost block gives another app hash")
	}
}

func TestCrashBeforeFirstCommitRunsInitChainAgain(t *testing.T) {
	keys := testKeys(3)
	dir := t.TempDir()
	app, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	genesis := initApp(t, app, keys, 10)
	app.Close()
	app = openApp(t, dir)
	if info, _ := app.Info(ctx, &abci.RequestInfo{}); info.LastBlockHeight != 0 {
		t.Fatalf("height %d after a crash before the first commit", info.LastBlockHeight)
	}
	if again := initApp(t, app, keys, 10); string(again) != string(genesis) {
		t.Fatal("InitChain again gives another app hash")
	}
	runBlock(t, app, 1, deterministicBlock(t, app, keys, 1))
}

const crashChildEnv = "LEDGER_CRASH_CHILD_DIR"

// crashChild runs blocks forever (bounded) and prints each height once Commit
// has returned. The parent kills it with SIGKILL at an arbitrary moment.
func crashChild(t *testing.T, dir string) {
	keys := testKeys(30)
	app, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := app.store.Height()
	if h == 0 {
		initApp(t, app, keys, 1_000_000)
	}
	for h++; h < 100_000; h++ {
		runBlock(t, app, h, deterministicBlock(t, app, keys, h))
		fmt.Printf("committed %d\n", h)
	}
}

func TestKill9DuringCommits(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	dir := t.TempDir()
	seen := int64(0)
	for cycle, kills := range []int{7, 3, 11} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9DuringCommits$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		read := 0
		deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
		for read < kills && lines.Scan() {
			if h, ok := strings.CutPrefix(lines.Text(), "committed "); ok {
				seen, _ = strconv.ParseInt(h, 10, 64)
				read++
			}
		}
		// Kill mid-stream, a little later each cycle: the child is somewhere
		// inside or between blocks.
		time.Sleep(time.Duration(cycle*3) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		deadline.Stop()
		if read < kills {
			t.Fatalf("cycle %d: child printed %d heights, expected %d", cycle, read, kills)
		}
		checkRecoveredState(t, dir, seen)
	}
}

// checkRecoveredState reopens dir and checks it holds exactly the state of
// some committed height at or after the last one the child reported: the
// same app hash and balances as a ledger that ran those heights uninterrupted.
func checkRecoveredState(t *testing.T, dir string, reported int64) {
	t.Helper()
	keys := testKeys(30)
	app, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	info, _ := app.Info(ctx, &abci.RequestInfo{})
	t.Logf("child reported height %d; recovered height %d", reported, info.LastBlockHeight)
	if info.LastBlockHeight < reported {
		t.Fatalf("recovered height %d, but the child had committed %d", info.LastBlockHeight, reported)
	}
	ref := openApp(t, t.TempDir())
	initApp(t, ref, keys, 1_000_000)
	for h := int64(1); h <= info.LastBlockHeight; h++ {
		runBlock(t, ref, h, deterministicBlock(t, ref, keys, h))
	}
	if string(ref.store.AppHash()) != string(info.LastBlockAppHash) {
		t.Fatalf("height %d: recovered app hash %X, uninterrupted run %X", info.LastBlockHeight, info.LastBlockAppHash, ref.store.AppHash())
	}
	for _, k := range append(keys, testKey{addr: proposer}) {
		if balanceOf(t, app, k.addr) != balanceOf(t, ref, k.addr) {
			t.Fatalf("account %s differs after recovery", k.addr)
		}
	}
}
