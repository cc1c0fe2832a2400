package p2p

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// encodeMessage frames msg the way the writer does.
func encodeMessage(dst []byte, ch ChannelID, msg []byte) []byte {
	for off := 0; ; {
		end := min(off+MaxFramePayload, len(msg))
		if off == 0 && end < len(msg) {
			dst = appendFirstFrameHeader(dst, ch, len(msg), end)
		} else {
			dst = appendFrameHeader(dst, ch, end == len(msg), end-off)
		}
		dst = append(dst, msg[off:end]...)
		off = end
		if off == len(msg) {
			return dst
		}
	}
}

func TestFrameDecoderReassemblesInterleavedChannels(t *testing.T) {
	big := make([]byte, 3*MaxFramePayload+5)
	_, _ = rand.Read(big)
	// The first frame of big, then a whole consensus message and a
	// keepalive, then the rest of big: how the writer interleaves.
	var wire []byte
	wire = appendFirstFrameHeader(wire, ChannelSync, len(big), MaxFramePayload)
	wire = append(wire, big[:MaxFramePayload]...)
	wire = encodeMessage(wire, ChannelConsensus, []byte("vote"))
	wire = appendFrameHeader(wire, controlChannel, true, 0)
	wire = appendNotice(wire, noticeRetire)
	for off := MaxFramePayload; off < len(big); off += MaxFramePayload {
		end := min(off+MaxFramePayload, len(big))
		wire = appendFrameHeader(wire, ChannelSync, end == len(big), end-off)
		wire = append(wire, big[off:end]...)
	}
	wire = encodeMessage(wire, ChannelTx, nil)

	dec := newFrameDecoder(bytes.NewReader(wire), DefaultChannels())
	want := []struct {
		ch  ChannelID
		msg []byte
	}{{ChannelConsensus, []byte("vote")}, {ChannelSync, big}, {ChannelTx, []byte{}}}
	for _, w := range want {
		ch, msg, err := dec.next()
		if err != nil || ch != w.ch || !bytes.Equal(msg, w.msg) {
			t.Fatalf("got ch %#x len %d err %v, want ch %#x len %d", byte(ch), len(msg), err, byte(w.ch), len(w.msg))
		}
	}
	if _, _, err := dec.next(); err != io.EOF {
		t.Fatalf("after the last message: %v, want EOF", err)
	}
	if !dec.retired {
		t.Fatal("retire notice not recorded")
	}
}

func TestFrameDecoderRejects(t *testing.T) {
	small := []ChannelDesc{{ID: ChannelTx, Priority: 1, MaxMsgBytes: 12000, SendQueueBytes: 12000}}
	frames := func(total int, sizes ...int) []byte {
		var wire []byte
		for i, n := range sizes {
			switch {
			case i == 0:
				wire = appendFirstFrameHeader(wire, ChannelTx, total, n)
			default:
				wire = appendFrameHeader(wire, ChannelTx, i == len(sizes)-1, n)
			}
			wire = append(wire, make([]byte, n)...)
		}
		return wire
	}
	cases := map[string]struct {
		wire []byte
		want error
	}{
		"unknown channel":      {appendFrameHeader(nil, 0x99, true, 1), ErrUnknownChannel},
		"frame over the max":   {appendFrameHeader(nil, ChannelTx, true, MaxFramePayload+1), errFrameTooLarge},
		"message over max":     {frames(MaxFramePayload+5000, MaxFramePayload, 5000), ErrMessageTooLarge},
		"frames over total":    {frames(10000, 8000, 8000), errFrameSequence},
		"frames under total":   {frames(11000, 8000, 1000), errFrameSequence},
		"total twice":          {append(frames(10000, 8000), frames(10000, 8000)...), errFrameSequence},
		"orphan continuation":  {appendFrameHeader(nil, ChannelTx, false, 10), errFrameSequence},
		"single frame too big": {append(appendFrameHeader(nil, ChannelTx, true, 16000), make([]byte, 16000)...), ErrMessageTooLarge},
		"bad flags":            {[]byte{byte(ChannelTx), 0x80, 0}, errBadFrameFlags},
		"keepalive with body":  {appendFrameHeader(nil, controlChannel, true, 3), errControlFragments},
		"unknown notice":       {append(appendFrameHeader(nil, controlChannel, true, 1), 9), errControlFragments},
		"partial keepalive":    {appendFrameHeader(nil, controlChannel, false, 0), errControlFragments},
		"truncated payload":    {append(appendFrameHeader(nil, ChannelTx, true, 100), 1, 2, 3), io.ErrUnexpectedEOF},
		"truncated header":     {[]byte{byte(ChannelTx)}, io.ErrUnexpectedEOF},
		"truncated length":     {[]byte{byte(ChannelTx), 1, 0x80}, io.ErrUnexpectedEOF},
		"length overflow":      {append([]byte{byte(ChannelTx), 1}, bytes.Repeat([]byte{0xff}, 11)...), nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := newFrameDecoder(bytes.NewReader(tc.wire), small).next()
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// TestBadFramesCloseOnlyThatConnection: a peer sending garbage, oversized,
// malformed or truncated frames is disconnected, and the node keeps
// serving its other peer.
func TestBadFramesCloseOnlyThatConnection(t *testing.T) {
	a, b := startNode(t, nil, nil), startNode(t, nil, nil)
	connect(t, a, b)
	oversized := appendFrameHeader(nil, ChannelTx, true, 1<<30)
	tooLong := appendFirstFrameHeader(nil, ChannelTx, 1<<20+1, MaxFramePayload)
	tooLong = append(tooLong, make([]byte, MaxFramePayload)...)
	garbage := make([]byte, 4096)
	_, _ = rand.Read(garbage)
	cases := map[string]struct {
		send      func(p *rawPeer) error
		violation bool // logged as a protocol violation
	}{
		"oversized frame":     {func(p *rawPeer) error { _, err := p.sc.Write(oversized); return err }, true},
		"oversized message":   {func(p *rawPeer) error { _, err := p.sc.Write(tooLong); return err }, true},
		"unknown channel":     {func(p *rawPeer) error { _, err := p.sc.Write(appendFrameHeader(nil, 0x99, true, 0)); return err }, true},
		"garbage frames":      {func(p *rawPeer) error { _, err := p.sc.Write(append([]byte{0x99}, garbage...)); return err }, true},
		"unencrypted garbage": {func(p *rawPeer) error { _, err := p.raw.Write(garbage); return err }, false},
		"duplicate message start": {func(p *rawPeer) error {
			first := appendFirstFrameHeader(nil, ChannelTx, 100, 10)
			first = append(first, make([]byte, 10)...)
			_, err := p.sc.Write(append(first, first...))
			return err
		}, true},
		"truncated frame": {func(p *rawPeer) error {
			_, err := p.sc.Write(append(appendFrameHeader(nil, ChannelTx, true, 100), 1, 2, 3))
			_ = p.raw.Close()
			return err
		}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := dialRaw(t, a, nil)
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, "raw peer accepted", func() bool { return hasPeer(a.sw, p.id) })
			if err := tc.send(p); err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, "offender disconnected", func() bool { return !hasPeer(a.sw, p.id) })
			if tc.violation && !a.log.contains("protocol violation") {
				t.Fatal("violation not logged")
			}
			if !hasPeer(a.sw, b.sw.ID()) {
				t.Fatal("the well-behaved peer was dropped too")
			}
			before := b.rec.count(func(received) bool { return true })
			if err := a.sw.Send(context.Background(), b.sw.ID(), ChannelConsensus, []byte(name)); err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, "the other peer still served", func() bool {
				return b.rec.count(func(received) bool { return true }) == before+1
			})
		})
	}
}

// TestGarbageInsteadOfHandshake: bytes that are not a SecretConnection
// handshake are refused and the node keeps serving its peer.
func TestGarbageInsteadOfHandshake(t *testing.T) {
	a := startNode(t, nil, func(c *Config) { c.HandshakeTimeout = time.Second })
	b := startNode(t, nil, nil)
	connect(t, a, b)
	for _, junk := range [][]byte{nil, {0}, bytes.Repeat([]byte{0xff}, 64), make([]byte, 100000)} {
		c, err := net.Dial("tcp", a.sw.ListenAddr())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(junk)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.Copy(io.Discard, c) // returns once the node hangs up
		_ = c.Close()
	}
	if len(a.sw.Peers()) != 1 {
		t.Fatalf("peers after garbage: %+v", a.sw.Peers())
	}
	exchangeOnEveryChannel(t, []*testNode{a, b})
}

func FuzzFrameDecode(f *testing.F) {
	f.Add(encodeMessage(nil, ChannelConsensus, []byte("hello")))
	f.Add(encodeMessage(encodeMessage(nil, ChannelSync, make([]byte, MaxFramePayload+3)), ChannelTx, nil))
	f.Add(appendFrameHeader(nil, controlChannel, true, 0))
	f.Add(appendFrameHeader(nil, ChannelTx, false, 1<<20))
	f.Add([]byte{0x20, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff})
	channels := []ChannelDesc{
		{ID: ChannelConsensus, Priority: 3, MaxMsgBytes: 64 << 10, SendQueueBytes: 64 << 10},
		{ID: ChannelSync, Priority: 2, MaxMsgBytes: 64 << 10, SendQueueBytes: 64 << 10},
		{ID: ChannelTx, Priority: 1, MaxMsgBytes: 1024, SendQueueBytes: 1024},
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		dec := newFrameDecoder(bufio.NewReader(bytes.NewReader(wire)), channels)
		consumed := 0
		for {
			ch, msg, err := dec.next()
			if err != nil {
				return
			}
			limit := 0
			for _, c := range channels {
				if c.ID == ch {
					limit = c.MaxMsgBytes
				}
			}
			if limit == 0 || len(msg) > limit {
				t.Fatalf("decoded %d bytes on channel %#x (limit %d)", len(msg), byte(ch), limit)
			}
			// Every delivered byte came from the input: allocation stays
			// proportional to it.
			consumed += len(msg)
			if consumed > len(wire) {
				t.Fatalf("decoded %d payload bytes from %d input bytes", consumed, len(wire))
			}
		}
	})
}

func FuzzNodeInfoDecode(f *testing.F) {
	a := newKey()
	info := testNodeInfo(a.ID())
	for _, wire := range []uint64{WireVersion, 0} {
		var buf bytes.Buffer
		if err := writeNodeInfo(&buf, info, wire); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(binary.AppendUvarint(nil, maxNodeInfoBytes+1))
	f.Add([]byte{0x05, 0x0a, 0x03})
	f.Fuzz(func(t *testing.T, wire []byte) {
		got, version, err := readNodeInfo(bytes.NewReader(wire))
		if err != nil {
			return
		}
		// Whatever decodes must go through the same checks without panicking.
		_ = checkPeerInfo(info, got, version, got.DefaultNodeID)
	})
}
