package p2p

import (
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

func withSyncQueue(maxMsg, queue int) func(*Config) {
	return func(c *Config) {
		for i := range c.Channels {
			if c.Channels[i].ID == ChannelSync {
				c.Channels[i].MaxMsgBytes, c.Channels[i].SendQueueBytes = maxMsg, queue
			}
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestStalledPeerKeepsMemoryBounded: a peer that never reads fills its
// queue; after that the sender's queue stays under the bound, messages to it
// are refused (counted as drops) or wait (Send), and the node keeps serving
// its other peer.
func TestStalledPeerKeepsMemoryBounded(t *testing.T) {
	const bound = 1 << 20
	a := startNode(t, nil, withSyncQueue(256<<10, bound))
	b := startNode(t, nil, nil)
	connect(t, a, b)
	stalled, err := dialRaw(t, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "stalled peer accepted", func() bool { return hasPeer(a.sw, stalled.id) })

	before := heapInUse()
	const attempts, size = 800, 64 << 10 // 50 MiB offered, far beyond socket buffers
	accepted := 0
	for i := range attempts {
		if a.sw.TrySend(stalled.id, ChannelSync, make([]byte, size)) {
			accepted++
		}
		if q := queueOf(a.sw, stalled.id, ChannelSync).QueueBytes; q > bound {
			t.Fatalf("after %d sends the queue holds %d bytes, bound %d", i, q, bound)
		}
		if i%100 == 99 {
			// The healthy peer is served while the stalled one is full.
			exchangeOnEveryChannel(t, []*testNode{a, b})
		}
	}
	grown := int64(heapInUse()) - int64(before)
	m := queueOf(a.sw, stalled.id, ChannelSync)
	t.Logf("accepted %d of %d, drops %d, queued %d bytes, heap grew %d KiB", accepted, attempts, m.Drops, m.QueueBytes, grown>>10)
	if m.Drops == 0 || int(m.Drops)+accepted != attempts {
		t.Fatalf("drops %d + accepted %d != %d", m.Drops, accepted, attempts)
	}
	// Queue bound plus the socket buffers the kernel filled, plus slack: an
	// unbounded queue would hold the ~40 MiB refused here.
	if grown > 12<<20 {
		t.Fatalf("heap grew %d MiB with a stalled peer", grown>>20)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := a.sw.Send(ctx, stalled.id, ChannelSync, make([]byte, size)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocking Send to a full queue: %v, want deadline exceeded", err)
	}
	if !hasPeer(a.sw, b.sw.ID()) {
		t.Fatal("healthy peer lost")
	}

	// A sender blocked on the full queue is released when the peer goes:
	// with ErrPeerGone, or nil if the dying link took one last message.
	blocked := make(chan error, 1)
	go func() { blocked <- a.sw.Send(context.Background(), stalled.id, ChannelSync, make([]byte, size)) }()
	time.Sleep(50 * time.Millisecond)
	_ = stalled.raw.Close()
	select {
	case err := <-blocked:
		if err != nil && !errors.Is(err, ErrPeerGone) {
			t.Fatalf("blocked Send after the peer left: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send still blocked after the peer left")
	}
	eventually(t, 5*time.Second, "stalled peer removed", func() bool { return !hasPeer(a.sw, stalled.id) })
	if q := a.sw.Metrics().Totals[ChannelSync].QueueBytes; q != 0 {
		t.Fatalf("%d bytes still queued for a departed peer", q)
	}
}

// TestStalledPeerIsDroppedAfterWriteTimeout: a peer that reads nothing at
// all is disconnected once writes make no progress for WriteTimeout.
func TestStalledPeerIsDroppedAfterWriteTimeout(t *testing.T) {
	a := startNode(t, nil, func(c *Config) {
		c.WriteTimeout = 500 * time.Millisecond
		c.SocketBufferBytes = 64 << 10
	})
	stalled, err := dialRaw(t, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "stalled peer accepted", func() bool { return hasPeer(a.sw, stalled.id) })
	for range 64 {
		a.sw.TrySend(stalled.id, ChannelSync, make([]byte, 256<<10))
	}
	eventually(t, 10*time.Second, "stalled peer dropped", func() bool { return !hasPeer(a.sw, stalled.id) })
}

func queueOf(sw *Switch, id ID, ch ChannelID) ChannelMetrics {
	for _, p := range sw.Metrics().Peers {
		if p.ID == id {
			return p.Channels[ch]
		}
	}
	return ChannelMetrics{}
}

// TestConsensusOvertakesFetchFlood: with tens of MiB of sync traffic queued
// for a peer, consensus messages to it still arrive promptly, far sooner
// than the sync backlog takes to drain.
func TestConsensusOvertakesFetchFlood(t *testing.T) {
	const backlog = 48 << 20
	a := startNode(t, nil, withSyncQueue(1<<20, backlog))
	b := startNode(t, nil, nil)
	var mu sync.Mutex
	arrived := map[uint32]time.Time{}
	var syncBytes int
	b.rec.onReceive = func(m received) {
		mu.Lock()
		defer mu.Unlock()
		switch m.ch {
		case ChannelConsensus:
			arrived[binary.BigEndian.Uint32(m.msg)] = m.at
		case ChannelSync:
			syncBytes += len(m.msg)
		}
	}
	connect(t, a, b)

	ctx, stopFlood := context.WithCancel(context.Background())
	defer stopFlood()
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		bulk := make([]byte, 1<<20)
		for ctx.Err() == nil {
			if err := a.sw.Send(ctx, b.sw.ID(), ChannelSync, bulk); err != nil {
				return
			}
		}
	}()
	eventually(t, 10*time.Second, "sync backlog built up", func() bool {
		return queueOf(a.sw, b.sw.ID(), ChannelSync).QueueBytes > backlog/2
	})

	const n = 20
	sent := make([]time.Time, n)
	mu.Lock()
	syncStart, windowStart := syncBytes, time.Now()
	mu.Unlock()
	for i := range n {
		sent[i] = time.Now()
		if !a.sw.TrySend(b.sw.ID(), ChannelConsensus, binary.BigEndian.AppendUint32(nil, uint32(i))) {
			t.Fatal("consensus queue refused a message")
		}
		time.Sleep(20 * time.Millisecond)
	}
	eventually(t, 20*time.Second, "consensus messages arrived", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(arrived) == n
	})
	mu.Lock()
	rate := float64(syncBytes-syncStart) / time.Since(windowStart).Seconds()
	mu.Unlock()
	queued := queueOf(a.sw, b.sw.ID(), ChannelSync).QueueBytes
	stopFlood()
	<-flooded

	latencies := make([]time.Duration, n)
	for i := range n {
		latencies[i] = arrived[uint32(i)].Sub(sent[i])
	}
	slices.Sort(latencies)
	// What a consensus message would wait behind the backlog in one FIFO.
	fifoWait := time.Duration(float64(queued) / rate * float64(time.Second))
	t.Logf("consensus latency p50 %v max %v; sync %.1f MiB/s with %d MiB queued: FIFO wait ~%v",
		latencies[n/2], latencies[n-1], rate/(1<<20), queued>>20, fifoWait)
	// Relative bounds, so that a slow or loaded machine slows both sides.
	if latencies[n/2] > fifoWait/10 || latencies[n-1] > fifoWait/4 {
		t.Fatalf("consensus stuck behind bulk: p50 %v, max %v, FIFO wait %v", latencies[n/2], latencies[n-1], fifoWait)
	}
}
