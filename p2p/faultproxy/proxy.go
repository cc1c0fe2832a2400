// Package faultproxy is a userspace TCP proxy that sits on one link and
// injects faults into it at run time: delay and jitter, bandwidth limits, a
// black hole in one direction (a one-way partition), refused and cut
// connections. It stands in for netem, which our test machines lack.
package faultproxy

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Direction is one half of a proxied connection.
type Direction int

const (
	// Forward carries bytes from the client that connected to the proxy to
	// the target.
	Forward Direction = iota
	// Backward carries bytes from the target back to the client.
	Backward
)

// Shape is the fault applied to one direction. The zero Shape forwards bytes
// untouched.
type Shape struct {
	// Delay is added to every chunk of bytes; Jitter adds up to that much
	// more, uniformly. Order within a connection is kept.
	Delay, Jitter time.Duration
	// BytesPerSec limits throughput per connection; zero means unlimited.
	BytesPerSec int
	// BlackHole drops every byte while keeping the connection open, as a
	// partition does before TCP gives up.
	BlackHole bool
}

// chunkSize is the largest read forwarded as one unit; queueChunks bounds how
// many a direction holds, so a proxy uses at most 2 MiB per direction.
const (
	chunkSize   = 32 << 10
	queueChunks = 64
)

// Proxy forwards connections from its listen address to a target.
type Proxy struct {
	ln     net.Listener
	target string
	shapes [2]atomic.Pointer[Shape]
	refuse atomic.Bool

	rngMu sync.Mutex
	rng   *rand.Rand

	mu     sync.Mutex
	pairs  map[*pair]struct{}
	closed bool
	wg     sync.WaitGroup
}

// New listens on listen (use 127.0.0.1:0 for a free port) and forwards every
// accepted connection to target. seed drives the jitter.
func New(listen, target string, seed uint64) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, rng: rand.New(rand.NewPCG(seed, ^seed)), pairs: map[*pair]struct{}{}}
	p.shapes[Forward].Store(&Shape{})
	p.shapes[Backward].Store(&Shape{})
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the address clients should dial instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set changes the shape of one direction, for bytes read from now on.
func (p *Proxy) Set(dir Direction, s Shape) { p.shapes[dir].Store(&s) }

// SetBoth changes both directions.
func (p *Proxy) SetBoth(s Shape) {
	p.Set(Forward, s)
	p.Set(Backward, s)
}

// Heal removes every fault: no shaping, new connections accepted.
func (p *Proxy) Heal() {
	p.SetBoth(Shape{})
	p.refuse.Store(false)
}

// Refuse makes the proxy close new connections as soon as it accepts them.
func (p *Proxy) Refuse(on bool) { p.refuse.Store(on) }

// Cut closes every open connection, both ends.
func (p *Proxy) Cut() {
	p.mu.Lock()
	pairs := make([]*pair, 0, len(p.pairs))
	for c := range p.pairs {
		pairs = append(pairs, c)
	}
	p.mu.Unlock()
	for _, c := range pairs {
		c.close()
	}
}

// Conns is the number of open proxied connections.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pairs)
}

// Close stops listening, cuts every connection and waits for the proxy's
// goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.refuse.Load() {
			_ = client.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	target, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	c := &pair{client: client, target: target, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	p.pairs[c] = struct{}{}
	p.mu.Unlock()

	var dirs sync.WaitGroup
	dirs.Add(2)
	go func() { defer dirs.Done(); p.pump(c, Forward, client, target) }()
	go func() { defer dirs.Done(); p.pump(c, Backward, target, client) }()
	dirs.Wait()
	p.mu.Lock()
	delete(p.pairs, c)
	p.mu.Unlock()
}

// pair is one proxied connection; closing it closes both sockets.
type pair struct {
	client, target net.Conn
	once           sync.Once
	done           chan struct{}
}

func (c *pair) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.client.Close()
		_ = c.target.Close()
	})
}

type chunk struct {
	data    []byte
	release time.Time
}

// pump moves one direction: a reader stamps each chunk with its release time
// and a writer sends it then, at the allowed rate. When either side fails the
// whole pair is closed, as a real link failure would.
func (p *Proxy) pump(c *pair, dir Direction, src, dst net.Conn) {
	queue := make(chan chunk, queueChunks)
	var reader sync.WaitGroup
	defer reader.Wait()
	reader.Add(1)
	go func() {
		defer reader.Done()
		defer close(queue)
		var last time.Time
		for {
			buf := make([]byte, chunkSize)
			n, err := src.Read(buf)
			if n > 0 {
				s := p.shapes[dir].Load()
				if !s.BlackHole {
					release := time.Now().Add(s.Delay + p.jitter(s.Jitter))
					if release.Before(last) {
						release = last
					}
					last = release
					select {
					case queue <- chunk{data: buf[:n], release: release}:
					case <-c.done:
						return
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer c.close()
	var budgetAt time.Time // when the rate limit lets the next byte out
	for ch := range queue {
		if !sleepUntil(ch.release, c.done) {
			return
		}
		data := ch.data
		for len(data) > 0 {
			piece := data
			if rate := p.shapes[dir].Load().BytesPerSec; rate > 0 {
				// Pieces of 1/50 s keep the rate smooth at any setting.
				piece = data[:min(len(data), max(rate/50, 1))]
				now := time.Now()
				if budgetAt.Before(now) {
					budgetAt = now
				}
				budgetAt = budgetAt.Add(time.Duration(len(piece)) * time.Second / time.Duration(rate))
				if !sleepUntil(budgetAt, c.done) {
					return
				}
			}
			if _, err := dst.Write(piece); err != nil {
				return
			}
			data = data[len(piece):]
		}
	}
}

func (p *Proxy) jitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	p.rngMu.Lock()
	defer p.rngMu.Unlock()
	return time.Duration(p.rng.Int64N(int64(max) + 1))
}

// sleepUntil waits for t, or returns false if done closes first.
func sleepUntil(t time.Time, done <-chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-done:
		return false
	}
}
