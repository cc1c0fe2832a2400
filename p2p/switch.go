package p2p

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/rs/zerolog"
)

// Handlers are the node's hooks into the switch. Each may be nil. They run
// on switch goroutines and must not block for long: Receive runs on the
// peer's reader (blocking it throttles that peer; msg is the handler's to
// keep), PeerUp and PeerDown run one at a time in the order peers come and
// go, PeerUp before the first Receive from that peer. A message the peer sent
// on a connection being retired in favour of a duplicate may be delivered
// after a PeerDown, so Receive must accept messages from unknown peers.
// Handlers may call TrySend, Send (with a deadline), Broadcast, Peers and
// Metrics, but not Connect or Stop, which wait for handler goroutines.
type Handlers struct {
	Receive  func(peer ID, ch ChannelID, msg []byte)
	PeerUp   func(PeerInfo)
	PeerDown func(peer ID, reason error)
}

// PeerInfo describes a connected peer.
type PeerInfo struct {
	ID         ID
	Moniker    string
	ListenAddr string // what the peer says it listens on (not verified)
	RemoteAddr string // the other end of the current TCP connection
	Outbound   bool   // we dialled the current connection
	Persistent bool
	// NodeInfo is everything the peer said about itself in its handshake
	// (checked for compatibility, not for truth beyond its ID).
	NodeInfo cmtp2p.DefaultNodeInfo
}

// Errors returned by Connect.
var (
	ErrDuplicate   = errors.New("already connected to this peer")
	ErrDialing     = errors.New("already dialling this peer")
	ErrInboundFull = errors.New("inbound peer limit reached")
	errEvicted     = errors.New("evicted: it sent only keepalives while another peer wanted its inbound slot")
	// ErrPenalized refuses a peer disconnected for misbehaving a short while ago.
	ErrPenalized     = errors.New("refused for now: disconnected for misbehaving")
	ErrUnknownPeer   = errors.New("unknown peer")
	ErrSwitchStopped = errors.New("switch stopped")
)

type peer struct {
	id         ID
	info       cmtp2p.DefaultNodeInfo
	persistent bool
	q          *sendQueues
	stats      map[ChannelID]*channelStats
	link       *link         // guarded by Switch.mu
	gone       chan struct{} // closed once the peer is removed
	// lastMessage is when the peer last sent a message (unix nanoseconds; its
	// arrival at first): keepalives do not count.
	lastMessage atomic.Int64
}

// Switch is the node's peer-to-peer endpoint.
type Switch struct {
	cfg      Config
	key      *NodeKey
	id       ID
	log      zerolog.Logger
	handlers Handlers
	totals   map[ChannelID]*channelStats

	persistent    []Address
	persistentIDs map[ID]bool

	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	listener net.Listener
	bound    string // host:port the listener took, set by Start
	info     cmtp2p.DefaultNodeInfo
	pending  chan struct{} // semaphore for inbound handshakes
	// pendingByIP counts inbound handshakes per remote IP (under mu).
	pendingByIP map[string]int
	// penalties holds back peers the node disconnected for misbehaving
	// (Disconnect), under mu: each offence doubles how long the peer is
	// refused, so a peer that reconnects to misbehave again gets ever fewer
	// chances.
	penalties map[ID]penalty

	// notifyMu serialises peer arrivals and departures, with their
	// callbacks, so the node sees them in the order they happened.
	notifyMu sync.Mutex
	mu       sync.Mutex
	started  bool
	stopped  bool
	peers    map[ID]*peer
	links    map[*link]struct{} // every link with a running reader, current or retiring
	inbound  int                // non-persistent peers whose current link they dialled
	dialing  map[ID]bool

	rngMu sync.Mutex
	rng   *rand.Rand
}

// New checks the configuration and builds a switch; nothing touches the
// network until Start.
func New(cfg Config, key *NodeKey, handlers Handlers, logger zerolog.Logger) (*Switch, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, errors.New("p2p: nil node key")
	}
	s := &Switch{
		cfg: cfg, key: key, id: key.ID(), handlers: handlers,
		totals:        map[ChannelID]*channelStats{},
		persistentIDs: map[ID]bool{},
		peers:         map[ID]*peer{},
		links:         map[*link]struct{}{},
		dialing:       map[ID]bool{},
		pending:       make(chan struct{}, cfg.MaxPendingHandshakes),
		pendingByIP:   map[string]int{},
		penalties:     map[ID]penalty{},
	}
	s.log = logger.With().Str("module", "p2p").Str("self", string(s.id)).Logger()
	for _, ch := range cfg.Channels {
		s.totals[ch.ID] = &channelStats{}
	}
	for _, raw := range cfg.PersistentPeers {
		addr, err := ParseAddress(raw)
		if err != nil {
			return nil, err
		}
		if addr.ID == s.id {
			continue // a shared peer list may name ourselves
		}
		s.persistent = append(s.persistent, addr)
		s.persistentIDs[addr.ID] = true
	}
	seed := cfg.JitterSeed
	if seed == 0 {
		h := fnv.New64a()
		_, _ = h.Write([]byte(s.id))
		seed = h.Sum64()
	}
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return s, nil
}

// ID is this node's ID.
func (s *Switch) ID() ID { return s.id }

// ListenAddr is the host:port the switch accepts connections on, once started.
func (s *Switch) ListenAddr() string { return s.bound }

// Address is this node's ID@host:port, once started.
func (s *Switch) Address() string { return string(s.id) + "@" + s.bound }

// NodeInfo is what the switch tells peers about this node in its handshake,
// once started. Its listen address is CometBFT's form: the external address
// if configured, else tcp:// and the listen address with the port the
// listener took (see advertisedAddr).
func (s *Switch) NodeInfo() cmtp2p.DefaultNodeInfo { return s.info }

// Start listens and dials the persistent peers. It returns once listening;
// everything else happens in the background until Stop or ctx ends.
func (s *Switch) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("p2p: switch already started")
	}
	s.started = true
	s.mu.Unlock()
	ln, err := net.Listen("tcp", s.cfg.ListenAddress)
	if err != nil {
		return fmt.Errorf("p2p listen: %w", err)
	}
	channels := make([]byte, 0, len(s.cfg.Channels))
	for _, ch := range s.cfg.Channels {
		channels = append(channels, byte(ch.ID))
	}
	listen := s.cfg.ExternalAddress
	if listen == "" {
		listen = "tcp://" + advertisedAddr(s.cfg.ListenAddress, ln.Addr())
	}
	s.bound = ln.Addr().String()
	s.info = cmtp2p.DefaultNodeInfo{
		ProtocolVersion: cmtp2p.NewProtocolVersion(P2PVersion, BlockVersion, s.cfg.AppVersion),
		DefaultNodeID:   s.id,
		ListenAddr:      listen,
		Network:         s.cfg.ChainID,
		Version:         s.cfg.Version,
		Channels:        channels,
		Moniker:         s.cfg.Moniker,
		Other:           cmtp2p.DefaultNodeInfoOther{TxIndex: s.cfg.TxIndex, RPCAddress: s.cfg.RPCAddress},
	}
	// Peers run the same check on it: fail here, naming the cause, rather
	// than be refused by every peer.
	if err := s.info.Validate(); err != nil {
		_ = ln.Close()
		return fmt.Errorf("p2p node info: %w", err)
	}
	s.mu.Lock()
	s.listener = ln
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.mu.Unlock()
	s.log.Info().Str("listen", s.info.ListenAddr).Int("persistent_peers", len(s.persistent)).Msg("p2p started")
	s.wg.Add(1)
	go s.acceptLoop()
	for _, addr := range s.persistent {
		s.wg.Add(1)
		go s.keepDialling(addr)
	}
	// Stop also runs when the parent context ends, so nothing outlives it.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-s.ctx.Done()
		s.shutdown()
	}()
	return nil
}

// Stop closes the listener and every connection, and returns once every
// goroutine of the switch has ended.
func (s *Switch) Stop() {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	s.wg.Wait()
}

func (s *Switch) shutdown() {
	_ = s.listener.Close()
	s.mu.Lock()
	s.stopped = true
	links := make([]*link, 0, len(s.links))
	for l := range s.links {
		links = append(links, l)
	}
	s.mu.Unlock()
	for _, l := range links {
		l.close(errStopping)
	}
	s.log.Info().Msg("p2p stopping")
}

// Peers lists connected peers, sorted by ID.
func (s *Switch) Peers() []PeerInfo {
	s.mu.Lock()
	out := make([]PeerInfo, 0, len(s.peers))
	for _, p := range s.peers {
		out = append(out, p.describe())
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (p *peer) describe() PeerInfo {
	return PeerInfo{
		ID: p.id, Moniker: p.info.Moniker, ListenAddr: p.info.ListenAddr,
		RemoteAddr: p.link.remoteAddr, Outbound: p.link.outbound, Persistent: p.persistent,
		NodeInfo: p.info,
	}
}

// advertisedAddr is the configured listen address with the port the listener
// took: CometBFT reports its configured p2p laddr, and only port 0 differs,
// where the port taken is the one a peer can dial. The configured host is
// kept because the bound one is not the same text (0.0.0.0 binds as [::]);
// an empty host, which node info cannot carry, becomes the bound one.
func advertisedAddr(configured string, bound net.Addr) string {
	host, _, err := net.SplitHostPort(configured)
	tcp, ok := bound.(*net.TCPAddr)
	if err != nil || !ok {
		return bound.String()
	}
	if host == "" {
		host = tcp.IP.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

func (s *Switch) peer(id ID) *peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peers[id]
}

// Disconnect closes the link to a misbehaving peer id for reason, which the "peer disconnected" line
// and PeerDown report; a persistent peer is dialled again with backoff. It reports false
// when the peer is not connected or its link is closing already, so a caller that reacts
// to every message of a peer acts (and logs) once per link.
//
// The peer is then refused for a while, 1 s after its first offence, twice as long after
// each further one up to a minute (a persistent peer is redialled once that is over).
func (s *Switch) Disconnect(id ID, reason error) bool {
	s.mu.Lock()
	var l *link
	if p := s.peers[id]; p != nil {
		l = p.link
	}
	s.mu.Unlock()
	if l == nil || !l.close(reason) {
		return false
	}
	s.mu.Lock()
	s.penalizeLocked(id, time.Now())
	s.mu.Unlock()
	return true
}

// Penalties of a peer disconnected for misbehaving: the first wait, the longest, and how
// long without an offence before a peer's record is forgotten.
const (
	penaltyFirst  = time.Second
	penaltyMax    = time.Minute
	penaltyForget = 10 * time.Minute
)

type penalty struct {
	until time.Time     // refused until then
	wait  time.Duration // the last wait given
}

func (s *Switch) penalizeLocked(id ID, now time.Time) {
	p := s.penalties[id]
	if p.wait == 0 || now.Sub(p.until) > penaltyForget {
		p.wait = penaltyFirst
	} else {
		p.wait = min(2*p.wait, penaltyMax)
	}
	p.until = now.Add(p.wait)
	s.penalties[id] = p
	if len(s.penalties) > 4096 {
		for other, q := range s.penalties {
			if now.Sub(q.until) > penaltyForget {
				delete(s.penalties, other)
			}
		}
	}
}

// penalizedLocked reports how much longer peer id is refused (0: it is not).
func (s *Switch) penalizedLocked(id ID, now time.Time) time.Duration {
	if p, ok := s.penalties[id]; ok && now.Before(p.until) {
		return p.until.Sub(now)
	}
	return 0
}

// TrySend queues msg for one peer without blocking. It returns false when the
// peer is unknown, the channel unknown, msg too large for the channel, or the
// channel's queue full (counted as a drop). msg must not be modified after.
func (s *Switch) TrySend(id ID, ch ChannelID, msg []byte) bool {
	p := s.peer(id)
	if p == nil {
		return false
	}
	ok, _ := p.q.tryPush(ch, msg)
	return ok
}

// TrySendWritten is TrySend, and returns a channel closed once msg has been written to the
// peer's connection (never, if the link fails first): for a sender that must know its
// message left this process.
func (s *Switch) TrySendWritten(id ID, ch ChannelID, msg []byte) (<-chan struct{}, bool) {
	p := s.peer(id)
	if p == nil {
		return nil, false
	}
	written, ok, _ := p.q.tryPushWritten(ch, msg)
	return written, ok
}

// Send queues msg for one peer, waiting while the channel's queue is full.
// It fails when the peer is not connected or leaves, when ctx ends, or when
// the channel is unknown or msg too large. msg must not be modified after.
func (s *Switch) Send(ctx context.Context, id ID, ch ChannelID, msg []byte) error {
	p := s.peer(id)
	if p == nil {
		return ErrUnknownPeer
	}
	return p.q.push(ctx, ch, msg)
}

// Broadcast queues msg for every connected peer without blocking, and
// returns how many peers took it. A peer whose queue is full misses it (a
// drop in its metrics); the protocol above recovers through fetches.
func (s *Switch) Broadcast(ch ChannelID, msg []byte) int {
	s.mu.Lock()
	peers := make([]*peer, 0, len(s.peers))
	for _, p := range s.peers {
		peers = append(peers, p)
	}
	s.mu.Unlock()
	sent := 0
	for _, p := range peers {
		if ok, _ := p.q.tryPush(ch, msg); ok {
			sent++
		}
	}
	return sent
}

// jitter spreads a backoff delay over [d/2, d).
func (s *Switch) jitter(d int64) int64 {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return d/2 + s.rng.Int64N(d/2+1)
}
