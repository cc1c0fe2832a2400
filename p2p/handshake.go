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
)

// Protocol versions carried in node info. P2PVersion changes with the frame
// format, BlockVersion with anything a peer must agree on to be useful.
const (
	P2PVersion   uint64 = 1
	BlockVersion uint64 = 1
)

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
	go func() { wrote <- writeNodeInfo(sc, ours) }()
	theirs, readErr := readNodeInfo(sc)
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
	if err := checkPeerInfo(ours, theirs, proven); err != nil {
		return nil, none, err
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		return nil, none, err
	}
	return sc, theirs, nil
}

func checkPeerInfo(ours, theirs cmtp2p.DefaultNodeInfo, proven ID) error {
	switch {
	case theirs.DefaultNodeID != proven:
		return refuse("node info claims ID %s but peer proved %s", theirs.DefaultNodeID, proven)
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

func writeNodeInfo(w io.Writer, info cmtp2p.DefaultNodeInfo) error {
	body, err := info.ToProto().Marshal()
	if err != nil {
		return err
	}
	msg := binary.AppendUvarint(make([]byte, 0, len(body)+binary.MaxVarintLen32), uint64(len(body)))
	_, err = w.Write(append(msg, body...))
	return err
}

// readNodeInfo is the size-limited decoder for the handshake message. It
// reads byte by byte up to the body so it never consumes frame bytes that
// follow.
func readNodeInfo(r io.Reader) (cmtp2p.DefaultNodeInfo, error) {
	var none cmtp2p.DefaultNodeInfo
	n, err := binary.ReadUvarint(oneByteReader{r})
	if err != nil {
		return none, unexpectedEOF(err)
	}
	if n > maxNodeInfoBytes {
		return none, fmt.Errorf("node info of %d bytes exceeds %d", n, maxNodeInfoBytes)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return none, unexpectedEOF(err)
	}
	var pb tmp2p.DefaultNodeInfo
	if err := pb.Unmarshal(body); err != nil {
		return none, fmt.Errorf("decode node info: %w", err)
	}
	return cmtp2p.DefaultNodeInfoFromToProto(&pb)
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
