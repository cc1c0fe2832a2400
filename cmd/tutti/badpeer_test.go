package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/p2p"
)

// A peer that sends a message the decoder refuses, on any of the channels the node reads,
// is disconnected at once (it used to be kept until an idle timeout, which its keepalives
// never reached), and the node goes on committing.
func TestAPeerSendingUndecodableMessagesIsDisconnected(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a node process")
	}
	ln := newLocalnet(t, 1)
	ln.start(0)
	ln.waitHeight(all(1), 2, 60*time.Second)
	for _, ch := range []p2p.ChannelID{p2p.ChannelConsensus, p2p.ChannelSync, p2p.ChannelTx} {
		peer := connectTestPeer(t, ln, 0)
		ctx, cancel := context.WithTimeout(peer.ctx, 5*time.Second)
		if err := peer.sw.Send(ctx, peer.id, ch, []byte{0xff, 0x00, 0x13, 0x37}); err != nil {
			cancel()
			t.Fatalf("channel %#x: send: %v", byte(ch), err)
		}
		cancel()
		sent := time.Now()
		for connected(peer.sw, peer.id) {
			if time.Since(sent) > 5*time.Second {
				t.Fatalf("channel %#x: still connected 5 s after an undecodable message", byte(ch))
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("channel %#x: disconnected %v after the message", byte(ch), time.Since(sent).Round(time.Millisecond))
		peer.sw.Stop()
	}
	if n := ln.logCount(0, "disconnected a peer that sent a message this node cannot decode"); n != 3 {
		t.Fatalf("%d WARN lines for the three disconnects, want 3", n)
	}
	h := ln.height(0)
	ln.waitHeight(all(1), h+3, 30*time.Second)
}

func connected(sw *p2p.Switch, id p2p.ID) bool {
	for _, p := range sw.Peers() {
		if p.ID == id {
			return true
		}
	}
	return false
}

// What a probe of a running node found already held, kept covered: a connection that sends
// garbage instead of a handshake, and a peer of another chain, are refused, while an honest
// peer connects and the node goes on committing.
func TestGarbageHandshakeAndWrongChainAreRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a node process")
	}
	ln := newLocalnet(t, 1)
	ln.start(0)
	ln.waitHeight(all(1), 2, 60*time.Second)
	honest := newTestPeer(t, ln, 0)
	_, hostPort, _ := strings.Cut(honest.addr, "@")

	garbage, err := net.Dial("tcp", hostPort)
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	if _, err := garbage.Write(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 4096)); err != nil {
		t.Fatal(err)
	}

	pcfg := p2p.DefaultConfig("another-chain")
	pcfg.Moniker, pcfg.ListenAddress = "stranger", "127.0.0.1:0"
	stranger, err := p2p.New(pcfg, &p2p.NodeKey{PrivKey: ed25519.GenPrivKey()}, p2p.Handlers{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := stranger.Start(honest.ctx); err != nil {
		t.Fatal(err)
	}
	defer stranger.Stop()
	if err := stranger.Connect(honest.ctx, honest.addr); err == nil {
		t.Fatal("a peer of another chain was accepted")
	}

	if err := honest.sw.Connect(honest.ctx, honest.addr); err != nil {
		t.Fatalf("an honest peer beside the bad ones: %v", err)
	}
	_ = garbage.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, garbage); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("the garbage connection was not closed: %v", err)
	}
	h := ln.height(0)
	ln.waitHeight(all(1), h+3, 30*time.Second)
}
