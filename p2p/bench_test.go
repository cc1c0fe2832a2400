package p2p

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/cometbft/cometbft/p2p/conn"
	"github.com/rs/zerolog"
)

var benchSizes = []struct {
	name string
	size int
}{{"100B", 100}, {"200B", 200}, {"10KB", 10_000}, {"64KiB", 64 << 10}, {"1MB", 1_000_000}}

// BenchmarkSwitchThroughput: one sender, one receiver, messages on the sync
// channel through two switches on loopback (SecretConnection, framing,
// queues). MB/s is payload bytes.
func BenchmarkSwitchThroughput(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			var got atomic.Int64
			done := make(chan struct{})
			target := int64(b.N)
			recv := startBenchNode(b, Handlers{Receive: func(_ ID, _ ChannelID, _ []byte) {
				if got.Add(1) == target {
					close(done)
				}
			}})
			send := startBenchNode(b, Handlers{})
			if err := send.Connect(context.Background(), recv.Address()); err != nil {
				b.Fatal(err)
			}
			msg := make([]byte, bs.size)
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := send.Send(context.Background(), recv.ID(), ChannelSync, msg); err != nil {
					b.Fatal(err)
				}
			}
			<-done
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

func startBenchNode(b *testing.B, h Handlers) *Switch {
	cfg := testConfig()
	sw, err := New(cfg, newKey(), h, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	if err := sw.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sw.Stop)
	return sw
}

// BenchmarkRawTCP is the baseline: the same messages, uvarint length
// prefixed, over a plain loopback TCP connection with the same buffering.
func BenchmarkRawTCP(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			benchPipe(b, bs.size, func(c net.Conn) io.ReadWriter { return c })
		})
	}
}

// BenchmarkSecretConnection isolates the cost of encryption: raw TCP plus
// cometbft's SecretConnection, without the switch.
func BenchmarkSecretConnection(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			key := newKey()
			benchPipe(b, bs.size, func(c net.Conn) io.ReadWriter {
				sc, err := conn.MakeSecretConnection(c, key.PrivKey)
				if err != nil {
					b.Fatal(err)
				}
				return sc
			})
		})
	}
}

func benchPipe(b *testing.B, size int, wrap func(net.Conn) io.ReadWriter) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan io.ReadWriter)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		b.Cleanup(func() { _ = c.Close() })
		accepted <- wrap(c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	client := wrap(c)
	server := <-accepted
	done := make(chan error, 1)
	n := b.N
	go func() {
		r := bufio.NewReaderSize(server, 64<<10)
		for range n {
			l, err := binary.ReadUvarint(r)
			if err != nil {
				done <- err
				return
			}
			buf := make([]byte, l)
			if _, err := io.ReadFull(r, buf); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	msg := make([]byte, size)
	w := bufio.NewWriterSize(client, 64<<10)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_, _ = w.Write(binary.AppendUvarint(nil, uint64(size)))
		if _, err := w.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkFrameDecode measures the decoder on 200 B consensus messages.
func BenchmarkFrameDecode(b *testing.B) {
	var wire []byte
	for range 1000 {
		wire = encodeMessage(wire, ChannelConsensus, make([]byte, 200))
	}
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	r := bytes.NewReader(wire)
	for range b.N {
		r.Reset(wire)
		dec := newFrameDecoder(r, DefaultChannels())
		for range 1000 {
			if _, _, err := dec.next(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkQueuePushTake measures one message through a peer's queues.
func BenchmarkQueuePushTake(b *testing.B) {
	stats := newStatsSet(DefaultChannels(), map[ChannelID]*channelStats{})
	q := newSendQueues(DefaultChannels(), stats)
	gen := q.attach()
	msg := make([]byte, 200)
	b.ReportAllocs()
	for range b.N {
		if ok, err := q.tryPush(ChannelConsensus, msg); !ok || err != nil {
			b.Fatal("push refused")
		}
		if _, ok, err := q.take(gen); !ok || err != nil {
			b.Fatal(fmt.Sprint("take: ", err))
		}
	}
}
