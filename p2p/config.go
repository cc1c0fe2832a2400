package p2p

import (
	"errors"
	"fmt"
	"time"
)

// ChannelID names a logical stream on a peer link. Zero is reserved for the
// link's own keepalive frames.
type ChannelID byte

// The channels Tutti uses. Priorities are strict: a higher priority channel
// with anything queued is always served before a lower one.
const (
	ChannelConsensus ChannelID = 0x20
	ChannelSync      ChannelID = 0x30
	ChannelTx        ChannelID = 0x40

	controlChannel ChannelID = 0
)

// ChannelDesc describes one channel: its priority, the largest message it
// accepts in either direction, and how many bytes one peer may have queued on
// it before senders feel back-pressure.
type ChannelDesc struct {
	ID             ChannelID
	Name           string
	Priority       int
	MaxMsgBytes    int
	SendQueueBytes int
}

// DefaultChannels returns the channel set a Tutti node runs with.
func DefaultChannels() []ChannelDesc {
	return []ChannelDesc{
		{ID: ChannelConsensus, Name: "consensus", Priority: 30, MaxMsgBytes: 4 << 20, SendQueueBytes: 16 << 20},
		{ID: ChannelSync, Name: "sync", Priority: 20, MaxMsgBytes: 8 << 20, SendQueueBytes: 16 << 20},
		{ID: ChannelTx, Name: "tx", Priority: 10, MaxMsgBytes: 1 << 20, SendQueueBytes: 4 << 20},
	}
}

// Config is everything a Switch needs besides its node key.
type Config struct {
	ChainID string
	Moniker string
	// Version is free text sent in node info (software version).
	Version string
	// ListenAddress is host:port; port 0 picks a free port (see Switch.ListenAddr).
	ListenAddress string
	// ExternalAddress, when set, is what node info gives as the listen address
	// instead of tcp://ListenAddress, as CometBFT's p2p.external_address: the
	// address peers should dial when it is not the one the switch binds.
	ExternalAddress string
	// AppVersion, TxIndex ("on", "off" or empty) and RPCAddress fill the node
	// info fields of the same meaning in CometBFT's (protocol_version.app,
	// other.tx_index, other.rpc_address), which peers show in net_info.
	AppVersion uint64
	TxIndex    string
	RPCAddress string
	// PersistentPeers are ID@host:port addresses dialled at start and
	// redialled whenever the link drops.
	PersistentPeers []string
	Channels        []ChannelDesc

	// MaxInboundPeers bounds peers that dialled us and are not persistent.
	// When they are all connected, a peer that dials in takes the place of the
	// one that has sent no message (keepalives aside) for the longest, if that
	// is at least InboundIdleEviction: keepalives alone do not hold a slot
	// against a peer that wants it.
	MaxInboundPeers     int
	InboundIdleEviction time.Duration
	// MaxPendingHandshakes bounds inbound connections still handshaking;
	// MaxPendingHandshakesPerIP bounds those of one remote IP (0: no bound; a
	// local testnet whose peers all dial from 127.0.0.1 needs none), so one
	// host cannot hold every slot.
	MaxPendingHandshakes      int
	MaxPendingHandshakesPerIP int
	// FirstByteTimeout is how long an inbound connection may stay silent
	// before its first byte (HandshakeTimeout if that is shorter): an honest
	// dialer starts its handshake at once, so a connection that sends nothing
	// gives its slot back long before HandshakeTimeout.
	FirstByteTimeout time.Duration

	DialTimeout      time.Duration
	HandshakeTimeout time.Duration
	// PingInterval is how long a link may stay silent before the writer sends
	// a keepalive; ReadTimeout is how long a link may stay silent before the
	// reader gives up on it. Keepalives are what let a black-holed link be
	// noticed, since TCP alone would wait for minutes.
	PingInterval time.Duration
	ReadTimeout  time.Duration
	// WriteTimeout is how long a write may make no progress before the peer
	// is considered stalled and disconnected.
	WriteTimeout time.Duration

	// SocketBufferBytes sets the kernel send and receive buffers of every
	// link; zero leaves them to the OS. Bytes in kernel buffers are beyond
	// the reach of channel priorities, so small buffers keep consensus
	// latency low under bulk load, at the price of throughput on links with
	// a large bandwidth-delay product (a 1 MiB window over 100 ms of RTT
	// carries about 10 MiB/s).
	SocketBufferBytes int

	RedialMin time.Duration
	RedialMax time.Duration
	// JitterSeed seeds the redial jitter; zero derives it from the node ID so
	// that nodes of one testnet do not redial in lockstep.
	JitterSeed uint64
}

// DefaultConfig returns sensible values for a validator on a LAN or WAN.
func DefaultConfig(chainID string) Config {
	return Config{
		ChainID:              chainID,
		Moniker:              "tutti",
		Version:              "tutti",
		ListenAddress:        "0.0.0.0:26656",
		Channels:             DefaultChannels(),
		MaxInboundPeers:      40,
		InboundIdleEviction:  time.Minute,
		MaxPendingHandshakes: 16,
		// Four from one IP at once: a node behind NAT with a few peers is
		// fine, one host cannot take more than a quarter of the slots.
		MaxPendingHandshakesPerIP: 4,
		FirstByteTimeout:          2 * time.Second,
		DialTimeout:               3 * time.Second,
		HandshakeTimeout:          5 * time.Second,
		PingInterval:              2 * time.Second,
		ReadTimeout:               8 * time.Second,
		WriteTimeout:              10 * time.Second,
		SocketBufferBytes:         256 << 10,
		RedialMin:                 100 * time.Millisecond,
		RedialMax:                 5 * time.Second,
	}
}

func (c *Config) validate() error {
	if c.ChainID == "" {
		return errors.New("p2p config: empty chain id")
	}
	if len(c.Channels) == 0 || len(c.Channels) > 16 {
		return fmt.Errorf("p2p config: need 1 to 16 channels, have %d", len(c.Channels))
	}
	seen := map[ChannelID]bool{}
	for _, ch := range c.Channels {
		switch {
		case ch.ID == controlChannel:
			return errors.New("p2p config: channel 0 is reserved")
		case seen[ch.ID]:
			return fmt.Errorf("p2p config: channel %#x listed twice", byte(ch.ID))
		case ch.MaxMsgBytes <= 0:
			return fmt.Errorf("p2p config: channel %#x: MaxMsgBytes must be positive", byte(ch.ID))
		case ch.SendQueueBytes < ch.MaxMsgBytes:
			return fmt.Errorf("p2p config: channel %#x: SendQueueBytes %d below MaxMsgBytes %d",
				byte(ch.ID), ch.SendQueueBytes, ch.MaxMsgBytes)
		}
		seen[ch.ID] = true
	}
	positive := map[string]time.Duration{
		"DialTimeout": c.DialTimeout, "HandshakeTimeout": c.HandshakeTimeout,
		"PingInterval": c.PingInterval, "ReadTimeout": c.ReadTimeout, "WriteTimeout": c.WriteTimeout,
		"RedialMin": c.RedialMin, "RedialMax": c.RedialMax,
	}
	for name, d := range positive {
		if d <= 0 {
			return fmt.Errorf("p2p config: %s must be positive", name)
		}
	}
	if c.ReadTimeout <= c.PingInterval {
		return errors.New("p2p config: ReadTimeout must exceed PingInterval")
	}
	if c.MaxPendingHandshakesPerIP < 0 {
		return errors.New("p2p config: MaxPendingHandshakesPerIP must not be negative")
	}
	if c.InboundIdleEviction <= 0 {
		return errors.New("p2p config: InboundIdleEviction must be positive")
	}
	if c.FirstByteTimeout <= 0 {
		return errors.New("p2p config: FirstByteTimeout must be positive")
	}
	if c.MaxPendingHandshakes <= 0 {
		return errors.New("p2p config: MaxPendingHandshakes must be positive")
	}
	if c.Moniker == "" {
		c.Moniker = "tutti"
	}
	return nil
}
