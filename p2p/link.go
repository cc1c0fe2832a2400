package p2p

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"time"

	flow "github.com/cometbft/cometbft/libs/flowrate"
	"github.com/cometbft/cometbft/p2p/conn"
)

// link is one authenticated TCP connection to a peer. A peer has exactly one
// current link; a link replaced by a duplicate is closed and its goroutines
// leave without touching the peer.
type link struct {
	sc         *conn.SecretConnection
	raw        *progressConn
	outbound   bool
	remoteAddr string
	created    time.Time
	// sendMon and recvMon measure the frame bytes (before encryption) this
	// link writes and reads, with cometbft's monitor at CometBFT's settings,
	// so net_info's send and receive figures mean what a CometBFT node's do.
	sendMon, recvMon *flow.Monitor

	closeOnce  sync.Once
	closed     chan struct{}
	reason     error
	retireOnce sync.Once
	retired    chan struct{}
	// writerDone closes when this link's writer has returned (at once for
	// a link that never had one).
	writerDone chan struct{}
}

func newLink(sc *conn.SecretConnection, raw *progressConn, outbound bool) *link {
	return &link{
		sc: sc, raw: raw, outbound: outbound, remoteAddr: raw.RemoteAddr().String(),
		created: time.Now(), sendMon: flow.New(0, 0), recvMon: flow.New(0, 0),
		closed: make(chan struct{}), retired: make(chan struct{}), writerDone: make(chan struct{}),
	}
}

// monitoredWriter and monitoredReader count what passes through them in a
// monitor. They sit between the SecretConnection and the 64 KiB buffers, so
// the monitor is updated once per buffer flush or fill, not per frame.
type monitoredWriter struct {
	w io.Writer
	m *flow.Monitor
}

func (w monitoredWriter) Write(p []byte) (int, error) { return w.m.IO(w.w.Write(p)) }

type monitoredReader struct {
	r io.Reader
	m *flow.Monitor
}

func (r monitoredReader) Read(p []byte) (int, error) { return r.m.IO(r.r.Read(p)) }

// retire winds down a link that lost to a duplicate without losing what is
// in flight. Our writer sends a retire notice, flushes and half-closes; our
// reader keeps delivering until the peer half-closes too. The peer, on the
// notice, keeps using the link until its own copy of the new link arrives
// and then retires it the same way, so neither side sees the peer go away
// or drops its queues.
func (l *link) retire() {
	l.retireOnce.Do(func() { close(l.retired) })
}

// closeWrite half-closes the socket; callers flush their buffer first.
func (l *link) closeWrite() {
	if cw, ok := l.raw.Conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		return
	}
	l.close(errReplaced)
}

// signOff sends the retire notice and half-closes.
func (l *link) signOff(bw *bufio.Writer) {
	_, _ = bw.Write(appendNotice(nil, noticeRetire))
	if err := bw.Flush(); err != nil {
		l.close(err)
		return
	}
	l.closeWrite()
}

// close records the first reason and closes the socket, which unblocks both
// the reader and the writer.
func (l *link) close(reason error) (first bool) {
	l.closeOnce.Do(func() {
		l.reason = reason
		close(l.closed)
		_ = l.raw.Close()
		first = true
	})
	return first
}

// dialer names the node that opened the link; the rule that resolves
// simultaneous dials compares dialers.
func (l *link) dialer(self, remote ID) ID {
	if l.outbound {
		return self
	}
	return remote
}

// keepNewLink decides, identically on both ends, which of two links to one
// peer survives. Links opened by different nodes: the one opened by the lower
// ID wins. Links opened by the same node: the newer one wins, since its
// dialer only dials when it has given up on the older one.
func keepNewLink(old, new *link, self, remote ID) bool {
	oldDialer, newDialer := old.dialer(self, remote), new.dialer(self, remote)
	if oldDialer == newDialer {
		return true
	}
	return newDialer < oldDialer
}

// Reasons a link was closed by this side.
var (
	errReplaced = errors.New("replaced by a duplicate connection")
	errStopping = errors.New("switch stopping")
)

// decayCheckFrames is how many frames a busy writer writes between checks for
// the recently-sent decay: at most 1 MiB, far less than the 2 s interval.
const decayCheckFrames = 64

// writeLoop frames whatever the peer's queues hold, highest priority first,
// flushing whenever they run dry and sending a keepalive when the link has
// been quiet for a ping interval.
func (s *Switch) writeLoop(p *peer, l *link, gen uint64) {
	defer s.wg.Done()
	defer close(l.writerDone)
	bw := bufio.NewWriterSize(monitoredWriter{l.sc, l.sendMon}, 64<<10)
	hdr := make([]byte, 0, maxFrameHeader)
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	decay := time.NewTicker(recentDecayInterval)
	defer decay.Stop()
	framesSincePing, framesSinceDecayCheck := 0, 0
	for {
		// A busy link never reaches the select below, so the decay is checked
		// here too, every decayCheckFrames frames: a receive from a timer
		// channel reads the clock and takes a lock, too much for every frame.
		if framesSinceDecayCheck++; framesSinceDecayCheck >= decayCheckFrames {
			framesSinceDecayCheck = 0
			select {
			case <-decay.C:
				p.q.decayRecent()
			default:
			}
		}
		f, ok, err := p.q.take(gen)
		if err != nil {
			// Replaced or removed: hand over cleanly, see retire.
			l.signOff(bw)
			return
		}
		if ok {
			if f.total > 0 {
				hdr = appendFirstFrameHeader(hdr[:0], f.ch, f.total, len(f.chunk))
			} else {
				hdr = appendFrameHeader(hdr[:0], f.ch, f.last, len(f.chunk))
			}
			if _, err := bw.Write(hdr); err != nil {
				l.close(err)
				return
			}
			if _, err := bw.Write(f.chunk); err != nil {
				l.close(err)
				return
			}
			framesSincePing++
			if f.written != nil {
				// Its sender waits for this message to be on the connection, not in our buffer.
				if err := bw.Flush(); err != nil {
					l.close(err)
					return
				}
				close(f.written)
			}
			continue
		}
		if bw.Buffered() > 0 {
			if err := bw.Flush(); err != nil {
				l.close(err)
				return
			}
		}
		select {
		case <-p.q.ready:
		case <-decay.C:
			p.q.decayRecent()
		case <-l.retired:
			l.signOff(bw)
			return
		case <-l.closed:
			return
		case <-ping.C:
			if framesSincePing > 0 {
				framesSincePing = 0
				continue
			}
			hdr = appendFrameHeader(hdr[:0], controlChannel, true, 0)
			if _, err := bw.Write(hdr); err != nil {
				l.close(err)
				return
			}
		}
	}
}

// readLoop decodes messages and hands them to the receive callback on this
// goroutine, so a slow consumer slows the peer down rather than piling up
// messages. When the link ends it removes the peer unless the link was
// already replaced.
func (s *Switch) readLoop(p *peer, l *link) {
	defer s.wg.Done()
	dec := newFrameDecoder(bufio.NewReaderSize(monitoredReader{l.sc, l.recvMon}, 64<<10), s.cfg.Channels)
	for {
		ch, msg, err := dec.next()
		if err != nil {
			if isProtocolViolation(err) {
				s.log.Warn().Str("peer", string(p.id)).Str("addr", l.remoteAddr).Err(err).
					Msg("closing peer connection: protocol violation")
			}
			if err == io.EOF && dec.retired {
				s.awaitReplacement(l)
			}
			l.close(err)
			break
		}
		p.stats[ch].received(len(msg))
		p.lastMessage.Store(time.Now().UnixNano())
		if s.handlers.Receive != nil {
			s.handlers.Receive(p.id, ch, msg)
		}
	}
	s.mu.Lock()
	delete(s.links, l)
	s.mu.Unlock()
	s.removeLink(p, l)
}

// awaitReplacement runs when the peer has retired l and finished sending on
// it. The duplicate that replaces l is on its way; until it arrives l stays
// the peer's link for sending (the peer still reads it). Once we retire l
// too, or the replacement does not come within a handshake timeout, l is
// done; our writer is given time to flush and sign off first.
func (s *Switch) awaitReplacement(l *link) {
	t := time.NewTimer(s.cfg.HandshakeTimeout)
	defer t.Stop()
	select {
	case <-l.retired:
	case <-l.closed:
	case <-t.C:
		l.retire()
	}
	select {
	case <-l.writerDone:
	case <-l.closed:
	case <-t.C:
	}
}

func isProtocolViolation(err error) bool {
	for _, target := range []error{ErrUnknownChannel, ErrMessageTooLarge, errFrameTooLarge, errBadFrameFlags, errControlFragments, errFrameSequence} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
