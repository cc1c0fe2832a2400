package sdknet

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

// The chain TestCLI, TestDelegation, TestHealthy150 and TestRelayRoundRobin share (their
// files sort after the tests with chains of their own, so it runs alone): 4 validators and
// a full node, started once. A liveness monitor watches x/slashing's signing infos from
// the start, so TestHealthy150 judges every height since genesis. TestRelayRoundRobin
// kills a validator last, which the chain records as its fault.
var shared struct {
	once    sync.Once
	c       *chain
	dir     string
	err     error
	monitor *livenessMonitor
	failed  bool // a test on it failed: keep its homes

	mu      sync.Mutex
	faulted string // what fault was done to the chain, if any
}

const (
	sharedValidators = 4
	fullNode         = 4 // the index of the shared chain's full node
)

// sharedChain starts the shared chain the first time and returns it.
func sharedChain(t *testing.T) *chain {
	t.Helper()
	needSDK(t)
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp(workDir, "shared-")
		if shared.err != nil {
			return
		}
		start := time.Now()
		c, err := newChain(context.Background(), bins, shared.dir, chainOptions{validators: sharedValidators, fullNodes: 1})
		if err != nil {
			shared.err = err
			return
		}
		shared.c = c
		if err := c.startAll(); err != nil {
			shared.err = err
			return
		}
		if err := c.net.WaitHeight(context.Background(), 2, 90*time.Second); err != nil {
			shared.err = err
			return
		}
		shared.monitor = startLivenessMonitor(c, sharedValidators)
		t.Logf("shared chain %s up at height 2 in %v (homes in %s)", c.chainID, time.Since(start).Round(time.Millisecond), shared.dir)
	})
	if shared.err != nil {
		shared.failed = true
		t.Fatalf("the shared chain: %v (homes in %s)", shared.err, shared.dir)
	}
	t.Cleanup(func() {
		if t.Failed() {
			shared.failed = true
		}
		if err := shared.c.net.Exited(); err != nil {
			shared.failed = true
			t.Errorf("shared chain: %v", err)
		}
	})
	return shared.c
}

// markFault records a fault done to the shared chain.
func markFault(what string) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.faulted == "" {
		shared.faulted = what
	}
}

func sharedFault() string {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	return shared.faulted
}

// closeShared stops the shared chain if it ran, keeping its homes if a test on it failed.
func closeShared() error {
	if shared.c == nil {
		return nil
	}
	if shared.monitor != nil {
		shared.monitor.stop()
	}
	err := shared.c.close()
	if shared.failed || shared.err != nil {
		os.Stderr.WriteString("sdknet: kept the shared chain's homes and logs in " + shared.dir + "\n")
		return err
	}
	return errors.Join(err, os.RemoveAll(shared.dir))
}
