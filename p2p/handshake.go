package p2p

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/conn"
	tmp2p "github.com/cometbft/cometbft/proto/tendermint/p2p"
	cmtversion "github.com/cometbft/cometbft/version"
	"google.golang.org/protobuf/encoding/protowire"
)

// P2PVersion and BlockVersion are the protocol versions node info reports,
// CometBFT's (8 and 11 in v0.38), because clients read them from status and
// net_info as a CometBFT node's. BlockVersion is also the version block
// headers carry. Neither describes Tutti's links: a CometBFT node reports the
// same numbers and still cannot talk to a Tutti node.
const (
	P2PVersion   = cmtversion.P2PProtocol
	BlockVersion = cmtversion.BlockProtocol
)

// WireVersion is Tutti's own link protocol: it changes with the frame format
// and with anything a peer must agree on to be useful. The handshake carries
// it in a field of the node info message that CometBFT's decoder skips, so a
// CometBFT node (which sends no such field) is refused at the handshake with
// a reason, instead of once its first packet fails to parse as a frame.
const WireVersion uint64 = 1

// wireVersionField is the protobuf field number of WireVersion in the
// handshake message, far above DefaultNodeInfo's own fields.
const wireVersionField protowire.Number = 1000

// maxNodeInfoBytes bounds the only message read before framing starts.
const maxNodeInfoBytes = 10240

// HandshakeError says why a connection was refused after it was authenticated
// or while authenticating it.
type HandshakeError struct {
	Reason string
}

func (e *HandshakeError) Error() string { return "handshake refused: " + e.Reason }

func refuse(format string, args ...any) error {
	return &HandshakeError{Reason: fmt.Sprintf(format, args...)}
}

// handshake authenticates raw and exchanges node info. expect is the ID the
// dialled address named, empty for inbound connections. On success the
// returned connection carries frames.
func handshake(raw net.Conn, key *NodeKey, ours cmtp2p.DefaultNodeInfo, expect ID, timeout time.Duration) (*conn.SecretConnection, cmtp2p.DefaultNodeInfo, error) {
	var none cmtp2p.DefaultNodeInfo
	if err := raw.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, none, err
	}
	sc, err := conn.MakeSecretConnection(raw, key.PrivKey)
	if err != nil {
		return nil, none, fmt.Errorf("secret connection: %w", err)
	}
	proven := cmtp2p.PubKeyToID(sc.RemotePubKey())
	if expect != "" && proven != expect {
		return nil, none, refuse("peer proved ID %s but its address names %s", proven, expect)
	}
	if proven == ours.DefaultNodeID {
		return nil, none, refuse("connected to self")
	}

	// Both sides write before reading; the writes are small enough for the
	// socket buffers, but run ours concurrently anyway so a peer that reads
	// first cannot deadlock us.
	wrote := make(chan error, 1)
	go func() { wrote <- writeNodeInfo(sc, ours, WireVersion) }()
	theirs, theirWire, readErr := readNodeInfo(sc)
	if err := <-wrote; err != nil {
		return nil, none, fmt.Errorf("send node info: %w", err)
	}
	var netErr net.Error
	switch {
	case errors.Is(readErr, io.EOF), errors.Is(readErr, io.ErrUnexpectedEOF), errors.As(readErr, &netErr):
		// The peer hung up or went quiet (perhaps refusing us): not a
		// protocol violation on its part.
		return nil, none, fmt.Errorf("read node info: %w", readErr)
	case readErr != nil:
		return nil, none, refuse("bad node info: %v", readErr)
	}
	if err := checkPeerInfo(ours, theirs, theirWire, proven); err != nil {
		return nil, none, err
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		return nil, none, err
	}
	return sc, theirs, nil
}

// checkPeerInfo decides whether a peer that proved its ID may connect. wire is
// the WireVersion it sent, 0 for none.
func checkPeerInfo(ours, theirs cmtp2p.DefaultNodeInfo, wire uint64, proven ID) error {
	switch {
	case theirs.DefaultNodeID != proven:
		return refuse("node info claims ID %s but peer proved %s", theirs.DefaultNodeID, proven)
	case wire == 0:
		return refuse("peer sent no Tutti wire version: not a Tutti node (a CometBFT node?) or an older Tutti")
	case wire != WireVersion:
		return refuse("Tutti wire version %d, ours is %d", wire, WireVersion)
	case theirs.Network != ours.Network:
		return refuse("chain id %q, ours is %q", theirs.Network, ours.Network)
	case theirs.ProtocolVersion.P2P != ours.ProtocolVersion.P2P || theirs.ProtocolVersion.Block != ours.ProtocolVersion.Block:
		return refuse("protocol version p2p=%d block=%d, ours p2p=%d block=%d",
			theirs.ProtocolVersion.P2P, theirs.ProtocolVersion.Block, ours.ProtocolVersion.P2P, ours.ProtocolVersion.Block)
	}
	if err := theirs.Validate(); err != nil {
		return refuse("invalid node info: %v", err)
	}
	if err := ours.CompatibleWith(theirs); err != nil {
		return refuse("%v", err)
	}
	return nil
}

// writeNodeInfo sends the handshake message: node info as CometBFT encodes it,
// followed by the wire version field (omitted when 0, for tests that play an
// old peer).
func writeNodeInfo(w io.Writer, info cmtp2p.DefaultNodeInfo, wire uint64) error {
	body, err := info.ToProto().Marshal()
	if err != nil {
		return err
	}
	if wire != 0 {
		body = protowire.AppendTag(body, wireVersionField, protowire.VarintType)
		body = protowire.AppendVarint(body, wire)
	}
	msg := binary.AppendUvarint(make([]byte, 0, len(body)+binary.MaxVarintLen32), uint64(len(body)))
	_, err = w.Write(append(msg, body...))
	return err
}

// readNodeInfo is the size-limited decoder for the handshake message: the
// node info and the wire version (0 when the message has none). It reads byte
// by byte up to the body so it never consumes frame bytes that follow.
func readNodeInfo(r io.Reader) (cmtp2p.DefaultNodeInfo, uint64, error) {
	var none cmtp2p.DefaultNodeInfo
	n, err := binary.ReadUvarint(oneByteReader{r})
	if err != nil {
		return none, 0, unexpectedEOF(err)
	}
	if n > maxNodeInfoBytes {
		return none, 0, fmt.Errorf("node info of %d bytes exceeds %d", n, maxNodeInfoBytes)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return none, 0, unexpectedEOF(err)
	}
	var pb tmp2p.DefaultNodeInfo
	if err := pb.Unmarshal(body); err != nil {
		return none, 0, fmt.Errorf("decode node info: %w", err)
	}
	info, err := cmtp2p.DefaultNodeInfoFromToProto(&pb)
	if err != nil {
		return none, 0, err
	}
	wire, err := wireVersionOf(body)
	return info, wire, err
}

// wireVersionOf finds the wire version field in a body that already decoded
// as node info (so every field in it is well formed); the last occurrence
// wins, as protobuf's own decoders do.
func wireVersionOf(body []byte) (uint64, error) {
	var wire uint64
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return 0, fmt.Errorf("decode node info: %w", protowire.ParseError(n))
		}
		body = body[n:]
		if num == wireVersionField && typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(body)
			if m < 0 {
				return 0, fmt.Errorf("decode wire version: %w", protowire.ParseError(m))
			}
			wire, body = v, body[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, body)
		if m < 0 {
			return 0, fmt.Errorf("decode node info: %w", protowire.ParseError(m))
		}
		body = body[m:]
	}
	return wire, nil
}

type oneByteReader struct{ r io.Reader }

func (b oneByteReader) ReadByte() (byte, error) {
	var one [1]byte
	_, err := io.ReadFull(b.r, one[:])
	return one[0], err
}

// progressConn arms a deadline before each read and write so that a link
// which makes no progress for the timeout fails, without resetting timers on
// every small read: the deadline is only pushed when a quarter of it is used.
// Timeouts stay zero, and deadlines untouched, until the handshake is over.
type progressConn struct {
	net.Conn
	readTimeout, writeTimeout time.Duration
	readBy, writeBy           time.Time
}

func (c *progressConn) Read(p []byte) (int, error) {
	if now := time.Now(); c.readTimeout > 0 && c.readBy.Sub(now) < c.readTimeout*3/4 {
		c.readBy = now.Add(c.readTimeout)
		if err := c.Conn.SetReadDeadline(c.readBy); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(p)
}

func (c *progressConn) Write(p []byte) (int, error) {
	if now := time.Now(); c.writeTimeout > 0 && c.writeBy.Sub(now) < c.writeTimeout*3/4 {
		c.writeBy = now.Add(c.writeTimeout)
		if err := c.Conn.SetWriteDeadline(c.writeBy); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}
