package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// crashChildEnv makes the test binary a writer process that TestKill9KeepsAcknowledgedHeights
// kills; TestMain runs it instead of the tests.
const crashChildEnv = "TUTTI_STORE_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

// crashChild saves heights after the stored ones and prints each once SaveExecuted has
// returned: those are acknowledged, so synced, and must survive the kill.
func crashChild(dir string) int {
	s, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	out := bufio.NewWriter(os.Stdout)
	first := s.Height() + 1
	for h := first; h < first+10_000; h++ {
		if err := s.SaveExecuted(executedHeight(h, 20, 100, rng)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintln(out, h)
		out.Flush()
	}
	return 0
}

// kill -9 of a process in the middle of writing heights: every acknowledged height is
// there after restart, the store is contiguous, and it goes on from where it stopped.
func TestKill9KeepsAcknowledgedHeights(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(11))
	for round := 0; round < 3; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 3 + rng.Intn(15)
		var acked int64
		lines := bufio.NewScanner(stdout)
		for n := 0; n < killAfter && lines.Scan(); n++ {
			if acked, err = strconv.ParseInt(lines.Text(), 10, 64); err != nil {
				t.Fatal(err)
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		cancel()
		if acked == 0 {
			t.Fatal("the writer acknowledged nothing before the kill")
		}

		s := openTest(t, dir)
		if s.Height() < acked {
			t.Fatalf("round %d: height %d after kill -9, but %d was acknowledged", round, s.Height(), acked)
		}
		t.Logf("round %d: acknowledged %d, stored %d, dropped %v", round, acked, s.Height(), s.Recovered().DroppedHeights)
		checkContiguous(t, s)
		s.Close()
	}
}
