package p2p

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"time"

	cmtp2p "github.com/cometbft/cometbft/p2p"
)

// acceptLoop takes inbound connections and handshakes each on its own
// goroutine, at most MaxPendingHandshakes at a time and MaxPendingHandshakesPerIP
// from one IP; a connection that sends nothing for FirstByteTimeout is closed.
func (s *Switch) acceptLoop() {
	defer s.wg.Done()
	for {
		raw, err := s.listener.Accept()
		if err != nil {
			if s.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				s.log.Error().Err(err).Msg("p2p accept failed, no more inbound peers")
			}
			return
		}
		ip := remoteIP(raw)
		if !s.claimPendingIP(ip) {
			// Debug: a host that opens connections by the hundred would otherwise
			// write a line for each.
			s.log.Debug().Str("addr", raw.RemoteAddr().String()).Int("per_ip", s.cfg.MaxPendingHandshakesPerIP).
				Msg("refusing connection: too many pending handshakes from its IP")
			_ = raw.Close()
			continue
		}
		select {
		case s.pending <- struct{}{}:
		default:
			s.releasePendingIP(ip)
			s.log.Warn().Str("addr", raw.RemoteAddr().String()).Msg("refusing connection: too many pending handshakes")
			_ = raw.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.pending; s.releasePendingIP(ip) }()
			conn, err := s.awaitFirstByte(raw)
			if err != nil {
				s.log.Debug().Str("addr", raw.RemoteAddr().String()).Err(err).Msg("inbound connection closed before its handshake began")
				return
			}
			_ = s.upgrade(conn, "", false)
		}()
	}
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// claimPendingIP takes one of ip's pending-handshake slots, if it has one left.
func (s *Switch) claimPendingIP(ip string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit := s.cfg.MaxPendingHandshakesPerIP; limit > 0 && s.pendingByIP[ip] >= limit {
		return false
	}
	s.pendingByIP[ip]++
	return true
}

func (s *Switch) releasePendingIP(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pendingByIP[ip]--; s.pendingByIP[ip] <= 0 {
		delete(s.pendingByIP, ip)
	}
}

// awaitFirstByte waits up to FirstByteTimeout for an inbound connection's first
// byte and returns the connection with that byte still to be read. It owns raw:
// on failure raw is closed.
func (s *Switch) awaitFirstByte(raw net.Conn) (net.Conn, error) {
	stopWatch := context.AfterFunc(s.ctx, func() { _ = raw.Close() })
	defer stopWatch()
	first := make([]byte, 1)
	err := raw.SetReadDeadline(time.Now().Add(min(s.cfg.FirstByteTimeout, s.cfg.HandshakeTimeout)))
	if err == nil {
		_, err = io.ReadFull(raw, first)
	}
	if err == nil {
		err = raw.SetReadDeadline(time.Time{})
	}
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	return &primedConn{Conn: raw, first: first}, nil
}

// primedConn is a connection whose first byte was read already.
type primedConn struct {
	net.Conn
	first []byte
}

func (c *primedConn) Read(p []byte) (int, error) {
	if len(c.first) > 0 && len(p) > 0 {
		n := copy(p, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the connection underneath, as retiring a link needs (link.go):
// without it an inbound link lost the half-close its duplicate resolution relies on.
func (c *primedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("the connection cannot half-close")
}

// tcpConn is the TCP connection under c, if there is one.
func tcpConn(c net.Conn) (*net.TCPConn, bool) {
	if p, ok := c.(*primedConn); ok {
		c = p.Conn
	}
	tc, ok := c.(*net.TCPConn)
	return tc, ok
}

// Connect dials addr (ID@host:port) once and returns when the peer is
// connected or refused. Persistent peers need no Connect: the switch keeps
// them connected.
func (s *Switch) Connect(ctx context.Context, addr string) error {
	a, err := ParseAddress(addr)
	if err != nil {
		return err
	}
	return s.dial(ctx, a)
}

func (s *Switch) dial(ctx context.Context, a Address) error {
	s.mu.Lock()
	switch {
	case s.stopped || s.ctx == nil:
		s.mu.Unlock()
		return ErrSwitchStopped
	case s.peers[a.ID] != nil:
		s.mu.Unlock()
		return ErrDuplicate
	case s.dialing[a.ID]:
		s.mu.Unlock()
		return ErrDialing
	}
	s.dialing[a.ID] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.dialing, a.ID)
		s.mu.Unlock()
	}()

	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	stopWithSwitch := context.AfterFunc(s.ctx, cancel)
	defer stopWithSwitch()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", a.Host)
	if err != nil {
		return err
	}
	return s.upgrade(raw, a.ID, true)
}

// upgrade handshakes raw and, if the peer is acceptable, makes it the peer's
// link. It owns raw: on any failure raw is closed.
func (s *Switch) upgrade(raw net.Conn, expect ID, outbound bool) error {
	if tc, ok := tcpConn(raw); ok && s.cfg.SocketBufferBytes > 0 {
		_ = tc.SetWriteBuffer(s.cfg.SocketBufferBytes)
		_ = tc.SetReadBuffer(s.cfg.SocketBufferBytes)
	}
	// A switch stopping mid-handshake closes the socket to unblock it.
	stopWatch := context.AfterFunc(s.ctx, func() { _ = raw.Close() })
	pc := &progressConn{Conn: raw}
	sc, info, err := handshake(pc, s.key, s.info, expect, s.cfg.HandshakeTimeout)
	stopped := !stopWatch()
	if err == nil && stopped {
		err = ErrSwitchStopped
	}
	if err != nil {
		_ = raw.Close()
		ev := s.log.Info()
		var refused *HandshakeError
		if errors.As(err, &refused) {
			ev = s.log.Warn()
		}
		ev.Str("addr", raw.RemoteAddr().String()).Bool("outbound", outbound).Err(err).Msg("peer handshake failed")
		return err
	}
	pc.readTimeout, pc.writeTimeout = s.cfg.ReadTimeout, s.cfg.WriteTimeout
	l := newLink(sc, pc, outbound)
	if err := s.addLink(info.DefaultNodeID, info, l); err != nil {
		if errors.Is(err, ErrInboundFull) {
			s.log.Warn().Str("peer", string(info.DefaultNodeID)).Str("addr", l.remoteAddr).Msg("refusing peer: inbound limit reached")
		}
		return err
	}
	return nil
}

// addLink makes l the link of peer id, creating the peer or resolving a
// duplicate connection. On error l has been dealt with.
func (s *Switch) addLink(id ID, info cmtp2p.DefaultNodeInfo, l *link) error {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		l.close(ErrSwitchStopped)
		return ErrSwitchStopped
	}
	if left := s.penalizedLocked(id, time.Now()); left > 0 {
		s.mu.Unlock()
		l.close(ErrPenalized)
		s.log.Debug().Str("peer", string(id)).Str("addr", l.remoteAddr).Dur("for", left).Msg("refusing peer: disconnected for misbehaving")
		return ErrPenalized
	}
	p := s.peers[id]
	if p != nil {
		old := p.link
		if !keepNewLink(old, l, s.id, id) {
			// The peer may be using this link until it learns of the other
			// one: read it until the peer retires it (see retire) or falls
			// silent, instead of cutting it and what it carries. Hanging up
			// now would also make the peer drop its queues.
			s.links[l] = struct{}{}
			s.wg.Add(1)
			s.mu.Unlock()
			close(l.writerDone) // never had a writer
			l.retire()          // and is not waiting for a replacement
			s.log.Info().Str("peer", string(id)).Str("addr", l.remoteAddr).Bool("outbound", l.outbound).
				Msg("duplicate peer connection refused, keeping the existing one")
			go s.readLoop(p, l)
			return ErrDuplicate
		}
		s.setLinkLocked(p, l)
		s.mu.Unlock()
		old.retire()
		s.log.Info().Str("peer", string(id)).Str("addr", l.remoteAddr).Bool("outbound", l.outbound).
			Msg("peer connection replaced by duplicate")
		s.startLink(p, l)
		return nil
	}
	persistent := s.persistentIDs[id]
	var evicted *peer
	var silentSince int64
	if !l.outbound && !persistent && s.inbound >= s.cfg.MaxInboundPeers {
		if evicted = s.idlestInboundLocked(); evicted == nil {
			s.mu.Unlock()
			l.close(ErrInboundFull)
			return ErrInboundFull
		}
		// Never chosen twice while its reader winds down.
		silentSince = evicted.lastMessage.Swap(math.MaxInt64)
	}
	p = &peer{id: id, info: info, persistent: persistent, gone: make(chan struct{})}
	p.lastMessage.Store(time.Now().UnixNano())
	p.stats = newStatsSet(s.cfg.Channels, s.totals)
	p.q = newSendQueues(s.cfg.Channels, p.stats)
	s.peers[id] = p
	s.setLinkLocked(p, l)
	desc := p.describe()
	s.mu.Unlock()
	if evicted != nil {
		// Its reader ends and frees the slot; until then the count is one over.
		evicted.link.close(errEvicted)
		s.log.Info().Str("peer", string(evicted.id)).Str("for", string(id)).
			Dur("silent", time.Since(time.Unix(0, silentSince))).
			Msg("inbound slots full: replaced the inbound peer silent the longest")
	}
	s.log.Info().Str("peer", string(id)).Str("addr", l.remoteAddr).Str("moniker", info.Moniker).
		Bool("outbound", l.outbound).Msg("peer connected")
	if s.handlers.PeerUp != nil {
		s.handlers.PeerUp(desc)
	}
	s.startLink(p, l)
	return nil
}

// idlestInboundLocked is the inbound, non-persistent peer that has sent no
// message for the longest, if that is at least InboundIdleEviction.
func (s *Switch) idlestInboundLocked() *peer {
	var idlest *peer
	cutoff := time.Now().Add(-s.cfg.InboundIdleEviction).UnixNano()
	for _, p := range s.peers {
		if p.persistent || p.link == nil || p.link.outbound {
			continue
		}
		if last := p.lastMessage.Load(); last <= cutoff && (idlest == nil || last < idlest.lastMessage.Load()) {
			idlest = p
		}
	}
	return idlest
}

// setLinkLocked makes l the peer's link. It registers l's two goroutines
// with the wait group while s.mu is held, so that a concurrent Stop either
// sees them or refuses the link.
func (s *Switch) setLinkLocked(p *peer, l *link) {
	if p.link != nil && !p.link.outbound && !p.persistent {
		s.inbound--
	}
	p.link = l
	if !l.outbound && !p.persistent {
		s.inbound++
	}
	s.links[l] = struct{}{}
	s.wg.Add(2)
}

// startLink runs the goroutines setLinkLocked registered.
func (s *Switch) startLink(p *peer, l *link) {
	gen := p.q.attach()
	go s.writeLoop(p, l, gen)
	go s.readLoop(p, l)
}

// removeLink forgets the peer if l is still its link.
func (s *Switch) removeLink(p *peer, l *link) {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	s.mu.Lock()
	if s.peers[p.id] != p || p.link != l {
		s.mu.Unlock()
		return
	}
	delete(s.peers, p.id)
	if !l.outbound && !p.persistent {
		s.inbound--
	}
	s.mu.Unlock()
	p.q.close()
	close(p.gone)
	s.log.Info().Str("peer", string(p.id)).Str("addr", l.remoteAddr).AnErr("reason", l.reason).Msg("peer disconnected")
	if s.handlers.PeerDown != nil {
		s.handlers.PeerDown(p.id, l.reason)
	}
}

// keepDialling keeps one persistent peer connected: dial, wait for the
// connection to end, dial again, backing off exponentially (with jitter) for
// as long as dials fail.
func (s *Switch) keepDialling(a Address) {
	defer s.wg.Done()
	failures := 0
	for s.ctx.Err() == nil {
		if p := s.peer(a.ID); p != nil {
			connected := time.Now()
			select {
			case <-p.gone:
			case <-s.ctx.Done():
				return
			}
			// A link that lived long was healthy: redial at once. One that
			// died young counts as a failure, so a peer that accepts and
			// hangs up is not redialled in a tight loop.
			if time.Since(connected) > s.cfg.RedialMax {
				failures = 0
				continue
			}
		} else {
			err := s.dial(s.ctx, a)
			switch {
			case err == nil || errors.Is(err, ErrDuplicate):
				continue
			case s.ctx.Err() != nil:
				return
			}
			if !errors.Is(err, ErrDialing) {
				s.log.Debug().Str("peer", a.String()).Err(err).Int("failures", failures+1).Msg("dial failed")
			}
		}
		wait := s.backoff(failures)
		failures++
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
	}
}

// backoff is RedialMin doubled per failure, capped at RedialMax, jittered
// over its upper half so that restarted nodes do not redial in lockstep.
func (s *Switch) backoff(failures int) time.Duration {
	d := s.cfg.RedialMin
	for i := 0; i < failures && d < s.cfg.RedialMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RedialMax)
	return time.Duration(s.jitter(int64(d)))
}
