package p2p

import (
	"context"
	"errors"
	"testing"
	"time"
)

func testQueues() *sendQueues {
	channels := DefaultChannels()
	for i := range channels {
		channels[i].MaxMsgBytes, channels[i].SendQueueBytes = 64<<10, 64<<10
	}
	return newSendQueues(channels, newStatsSet(channels, map[ChannelID]*channelStats{}))
}

// TestTakeServesHigherPriorityBetweenFrames: a consensus message queued
// while a multi-frame sync message is half sent goes out next.
func TestTakeServesHigherPriorityBetweenFrames(t *testing.T) {
	q := testQueues()
	gen := q.attach()
	mustPush := func(ch ChannelID, n int) {
		if ok, err := q.tryPush(ch, make([]byte, n)); !ok || err != nil {
			t.Fatalf("push %d bytes on %#x: %v %v", n, byte(ch), ok, err)
		}
	}
	mustPush(ChannelTx, 10)
	mustPush(ChannelSync, 3*MaxFramePayload)
	f, _, _ := q.take(gen)
	if f.ch != ChannelSync || f.total != 3*MaxFramePayload || f.last {
		t.Fatalf("first frame %+v", f)
	}
	mustPush(ChannelConsensus, 100)
	var order []ChannelID
	for {
		f, ok, err := q.take(gen)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		order = append(order, f.ch)
	}
	want := []ChannelID{ChannelConsensus, ChannelSync, ChannelSync, ChannelTx}
	if len(order) != len(want) {
		t.Fatalf("frame order %x, want %x", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("frame order %x, want %x", order, want)
		}
	}
}

func TestQueueBoundAndRelease(t *testing.T) {
	q := testQueues()
	gen := q.attach()
	if ok, _ := q.tryPush(ChannelTx, make([]byte, 40<<10)); !ok {
		t.Fatal("first push refused")
	}
	if ok, _ := q.tryPush(ChannelTx, make([]byte, 40<<10)); ok {
		t.Fatal("push beyond the bound accepted")
	}
	if got := q.byID[ChannelTx].stats.drops.Load(); got != 1 {
		t.Fatalf("drops %d", got)
	}
	// A blocked push proceeds once the writer takes the message.
	done := make(chan error, 1)
	go func() { done <- q.push(context.Background(), ChannelTx, make([]byte, 40<<10)) }()
	time.Sleep(20 * time.Millisecond)
	for {
		f, ok, _ := q.take(gen)
		if !ok || f.last {
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// And a blocked push fails once the peer is gone.
	go func() { done <- q.push(context.Background(), ChannelTx, make([]byte, 40<<10)) }()
	time.Sleep(20 * time.Millisecond)
	q.close()
	if err := <-done; !errors.Is(err, ErrPeerGone) {
		t.Fatalf("push after close: %v", err)
	}
	if b := q.byID[ChannelTx].stats.queueBytes.Load(); b != 0 {
		t.Fatalf("%d bytes accounted after close", b)
	}
}

// TestAttachRestartsHalfSentMessage: a new link must not receive the tail
// of a message whose head went down the old one; it gets the whole message.
func TestAttachRestartsHalfSentMessage(t *testing.T) {
	q := testQueues()
	old := q.attach()
	_, _ = q.tryPush(ChannelSync, make([]byte, 2*MaxFramePayload))
	_, _ = q.tryPush(ChannelSync, make([]byte, 5))
	if f, _, _ := q.take(old); f.last {
		t.Fatal("first frame of two marked last")
	}
	gen := q.attach()
	if _, _, err := q.take(old); !errors.Is(err, errStale) {
		t.Fatalf("old writer not told to stop: %v", err)
	}
	f, ok, _ := q.take(gen)
	if !ok || f.last || f.total != 2*MaxFramePayload {
		t.Fatalf("new link's first frame: total %d last %v", f.total, f.last)
	}
	for _, wantLen := range []int{MaxFramePayload, 5} {
		if f, ok, _ := q.take(gen); !ok || !f.last || len(f.chunk) != wantLen {
			t.Fatalf("new link got %d bytes, last %v; want %d", len(f.chunk), f.last, wantLen)
		}
	}
	if b := q.byID[ChannelSync].bytes; b != 0 {
		t.Fatalf("%d bytes still accounted", b)
	}
}
