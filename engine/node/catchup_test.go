package node

import (
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/core"
)

func TestCatchUpFromExecutorLag(t *testing.T) {
	c := catchUp{window: time.Second}
	now := time.Now()
	for _, tc := range []struct {
		cut, executed int64
		want          bool
	}{
		{10, 10, false}, {10, 8, false}, {10, 10 - catchUpLag, false}, {10, 10 - catchUpLag - 1, true}, {64, 0, true},
		{3, 5, false}, // the executor ahead of what the core restored
	} {
		if got := c.behind(tc.cut, tc.executed, now); got != tc.want {
			t.Errorf("cut %d, executed %d: behind %v, want %v", tc.cut, tc.executed, got, tc.want)
		}
	}
}

func TestCatchUpFromSyncRequests(t *testing.T) {
	c := catchUp{window: 1500 * time.Millisecond}
	t0 := time.Unix(1000, 0)
	clock := func(at time.Time) func() time.Time { return func() time.Time { return at } }
	if c.behind(5, 5, t0) {
		t.Fatal("behind before any sync request")
	}
	c.observe(0, clock(t0))
	if c.behind(5, 5, t0.Add(time.Millisecond)) {
		t.Fatal("behind with a sync count that never grew")
	}
	c.observe(1, clock(t0))
	if !c.behind(5, 5, t0.Add(time.Second)) {
		t.Fatal("not behind a second after a sync request")
	}
	// The count stays: the window runs from the request, not from the observation.
	c.observe(1, clock(t0.Add(time.Second)))
	if c.behind(5, 5, t0.Add(1500*time.Millisecond)) {
		t.Fatal("still behind a whole window after the last sync request")
	}
	c.observe(2, clock(t0.Add(2*time.Second)))
	if !c.behind(5, 5, t0.Add(3*time.Second)) {
		t.Fatal("not behind after a new sync request")
	}
}

func TestSyncWindowIsThreeResyncIntervals(t *testing.T) {
	if got := syncWindow(core.Config{LeaderTimeout: 250 * time.Millisecond}); got != 1500*time.Millisecond {
		t.Errorf("default resync interval: window %v, want 1.5s", got)
	}
	if got := syncWindow(core.Config{LeaderTimeout: time.Second, ResyncInterval: 300 * time.Millisecond}); got != 900*time.Millisecond {
		t.Errorf("resync interval 300ms: window %v, want 900ms", got)
	}
}
