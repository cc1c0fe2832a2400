package main

import (
	"context"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/wire"
	"github.com/tutti-bft/tutti/p2p"
)

var commitLatencyLine = regexp.MustCompile(`committed .*height=(\d+) latency=([0-9.]+)`)

// commitLatencies maps each height node i committed to its commit latency in ms (the
// time from the block's time to its execution here).
func (ln *localnet) commitLatencies(i int) map[int64]float64 {
	out := map[int64]float64{}
	for _, m := range commitLatencyLine.FindAllStringSubmatch(ln.tail(i, 1<<30), -1) {
		h, _ := strconv.ParseInt(m[1], 10, 64)
		ms, _ := strconv.ParseFloat(m[2], 64)
		out[h] = ms
	}
	return out
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// A peer that floods a validator with sync requests (each a small message asking for a
// large answer) is disconnected, again each time it comes back, while the validator keeps
// committing its peers' blocks at their usual latency: every peer has its own bounded
// queue of inputs, served in turn.
func TestFloodingPeerIsDisconnectedOthersUnaffected(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 node processes")
	}
	ln := newLocalnet(t, 4)
	for i := range ln.homes {
		ln.start(i)
	}
	ln.waitHeight(all(4), 5, 60*time.Second)
	time.Sleep(3 * time.Second)
	floodFrom := ln.height(0)

	peer := newTestPeer(t, ln, 0)
	flooder, target, addr, ctx := peer.sw, peer.id, peer.addr, peer.ctx
	msg, err := wire.Encode(wire.SyncRequestMessage(0, make([]uint64, 4)))
	if err != nil {
		t.Fatal(err)
	}
	sent, sessions := 0, 0
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); {
		if err := flooder.Connect(ctx, addr); err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		sessions++
		for time.Now().Before(end) {
			sendCtx, stop := context.WithTimeout(ctx, time.Second)
			err := flooder.Send(sendCtx, target, p2p.ChannelSync, msg)
			stop()
			if err != nil {
				break
			}
			sent++
		}
	}
	floodTo := ln.height(0)
	disconnects := ln.logCount(0, "disconnected a peer that floods this node")
	ln.waitHeight(all(4), floodTo+3, 30*time.Second)

	var before, during []float64
	for h, ms := range ln.commitLatencies(0) {
		switch {
		case h > 2 && h <= floodFrom:
			before = append(before, ms)
		case h > floodFrom && h <= floodTo:
			during = append(during, ms)
		}
	}
	pBefore, pDuring := medianOf(before), medianOf(during)
	t.Logf("flooder: %d sync requests sent in %d sessions; validator 0 disconnected it %d times; heights %d-%d during the flood, commit latency p50 %.0f ms (%.0f ms before)",
		sent, sessions, disconnects, floodFrom, floodTo, pDuring, pBefore)
	if disconnects == 0 {
		t.Fatalf("the flooding peer was never disconnected\n%s", ln.tail(0, 20))
	}
	if floodTo-floodFrom < 15 {
		t.Errorf("only %d heights in 15 s of flood", floodTo-floodFrom)
	}
	if pDuring > 2*pBefore && pDuring > pBefore+150 {
		t.Errorf("commit latency p50 %.0f ms during the flood, %.0f ms before: the flood slowed the others' blocks", pDuring, pBefore)
	}
	for i := range ln.homes {
		ln.stop(i)
	}
}
