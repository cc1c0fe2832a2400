package sdknet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// enableEnv turns the tests on: they need simd, minutes to build the first time.
const enableEnv = "TUTTI_SDK_TEST"

var (
	bins     binaries
	buildErr error
	// workDir holds the tutti binary of this run and every chain's homes; a failed run
	// keeps the homes of the failed tests (their logs), whose paths the tests print.
	workDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv(enableEnv) == "1" {
		var err error
		workDir, err = os.MkdirTemp("", "sdknet-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		bins, buildErr = build()
	}
	code := m.Run()
	if err := closeShared(); err != nil {
		fmt.Fprintln(os.Stderr, "sdknet: stopping the shared chain:", err)
		code = 1
	}
	if workDir != "" {
		_ = os.Remove(filepath.Join(workDir, "tutti"))
		_ = os.Remove(workDir) // only if no test kept its homes
	}
	return code
}

func build() (binaries, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	root, err := repoRoot()
	if err != nil {
		return binaries{}, err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "sdknet: "+format+"\n", args...) }
	simd, err := buildSimd(ctx, root, logf)
	if err != nil {
		return binaries{}, err
	}
	tutti, err := buildTutti(ctx, root, workDir)
	if err != nil {
		return binaries{}, err
	}
	return binaries{tutti: tutti, simd: simd}, nil
}

// needSDK skips a test unless the SDK tests are on, and fails it if the binaries could not
// be built.
func needSDK(t *testing.T) {
	t.Helper()
	if os.Getenv(enableEnv) != "1" {
		t.Skipf("runs a Cosmos SDK chain (simd, built once into the cache in about 5 minutes): run with %s=1 go test ./testnet/sdknet/, or make sdk", enableEnv)
	}
	if buildErr != nil {
		t.Fatalf("building the binaries: %v", buildErr)
	}
}

// newTestChain sets up a chain of its own for t in a fresh directory, stopped and removed
// when t ends (kept, with its logs, if t failed).
func newTestChain(t *testing.T, opt chainOptions) *chain {
	t.Helper()
	dir, err := os.MkdirTemp(workDir, "chain-")
	if err != nil {
		t.Fatal(err)
	}
	c, err := newChain(context.Background(), bins, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.close(); err != nil {
			t.Errorf("stopping the chain: %v", err)
		}
		if t.Failed() {
			t.Logf("kept the chain's homes and logs in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return c
}
