package p2p

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Wire format of one frame, inside the SecretConnection:
//
//	channel (1 byte) | flags (1 byte) | [total length (uvarint)] | payload length (uvarint) | payload
//
// A message is one or more frames of one channel, the last one flagged
// frameLast. The first frame of a message that needs several carries the
// message's total length (flag frameTotal), so the receiver allocates it once,
// within the channel's limit, and reads every frame straight into place.
// Frames of different channels interleave freely, which is how a consensus
// message overtakes a large block-sync message already on its way.
const (
	// MaxFramePayload bounds one frame, and so the time a lower priority
	// message can delay a higher priority one.
	MaxFramePayload = 16 << 10
	frameLast       = 1
	frameTotal      = 2
	maxFrameHeader  = 2 + 2*binary.MaxVarintLen32
)

// Errors that close the link they were read from.
var (
	ErrUnknownChannel   = errors.New("unknown channel")
	ErrMessageTooLarge  = errors.New("message too large")
	errFrameTooLarge    = errors.New("frame payload too large")
	errBadFrameFlags    = errors.New("bad frame flags")
	errControlFragments = errors.New("malformed control frame")
	errFrameSequence    = errors.New("frame out of sequence")
)

// appendFrameHeader appends the header of a frame carrying n payload bytes
// that either completes a message (last) or continues one.
func appendFrameHeader(dst []byte, ch ChannelID, last bool, n int) []byte {
	var flags byte
	if last {
		flags = frameLast
	}
	dst = append(dst, byte(ch), flags)
	return binary.AppendUvarint(dst, uint64(n))
}

// appendFirstFrameHeader appends the header of the first of several frames
// of a message of total bytes.
func appendFirstFrameHeader(dst []byte, ch ChannelID, total, n int) []byte {
	dst = append(dst, byte(ch), frameTotal)
	dst = binary.AppendUvarint(dst, uint64(total))
	return binary.AppendUvarint(dst, uint64(n))
}

// Control frames (channel 0) carry no payload, a keepalive, or one byte
// naming a notice.
const noticeRetire byte = 1 // sender stops writing on this link, see link.retire

// appendNotice appends a control frame carrying one notice.
func appendNotice(dst []byte, notice byte) []byte {
	return append(appendFrameHeader(dst, controlChannel, true, 1), notice)
}

// byteReader is what the frame decoder reads from: a bufio.Reader in
// production, a bytes.Reader in the fuzz test.
type byteReader interface {
	io.Reader
	io.ByteReader
}

// frameDecoder is the single decoder for untrusted peer bytes after the
// handshake. It reassembles messages per channel and refuses, with an error,
// anything that could make it allocate more than a channel's MaxMsgBytes.
type frameDecoder struct {
	r      byteReader
	maxMsg [256]int // zero: channel unknown
	// partial holds the message being reassembled on each channel, with its
	// capacity set to the announced total.
	partial [256][]byte
	hdr     [2]byte // here rather than on the stack, where io.ReadFull would make it escape
	// retired is set once the peer has announced it retires this link.
	retired bool
}

func newFrameDecoder(r byteReader, channels []ChannelDesc) *frameDecoder {
	d := &frameDecoder{r: r}
	for _, ch := range channels {
		d.maxMsg[ch.ID] = ch.MaxMsgBytes
	}
	return d
}

// next returns the next complete message. Keepalive frames are consumed
// silently. Every error is final for the link.
func (d *frameDecoder) next() (ChannelID, []byte, error) {
	for {
		ch, msg, err := d.readFrame()
		if err != nil || msg != nil {
			return ch, msg, err
		}
	}
}

// readFrame reads one frame and returns the message it completes, if any.
func (d *frameDecoder) readFrame() (ChannelID, []byte, error) {
	if _, err := io.ReadFull(d.r, d.hdr[:]); err != nil {
		return 0, nil, err
	}
	ch, flags := ChannelID(d.hdr[0]), d.hdr[1]
	if flags&^(frameLast|frameTotal) != 0 || flags == frameLast|frameTotal {
		return 0, nil, fmt.Errorf("%w: %#x", errBadFrameFlags, flags)
	}
	if ch == controlChannel {
		n, err := binary.ReadUvarint(d.r)
		if err != nil {
			return 0, nil, unexpectedEOF(err)
		}
		if n > 1 || flags != frameLast {
			return 0, nil, errControlFragments
		}
		if n == 1 {
			notice, err := d.r.ReadByte()
			if err != nil {
				return 0, nil, unexpectedEOF(err)
			}
			if notice != noticeRetire {
				return 0, nil, fmt.Errorf("%w: unknown notice %d", errControlFragments, notice)
			}
			d.retired = true
		}
		return 0, nil, nil
	}
	limit := d.maxMsg[ch]
	if limit == 0 {
		return 0, nil, fmt.Errorf("%w %#x", ErrUnknownChannel, byte(ch))
	}
	buf := d.partial[ch]
	switch {
	case flags&frameTotal != 0:
		if buf != nil {
			return 0, nil, fmt.Errorf("channel %#x: %w: new message before the last ended", byte(ch), errFrameSequence)
		}
		total, err := binary.ReadUvarint(d.r)
		if err != nil {
			return 0, nil, unexpectedEOF(err)
		}
		if total > uint64(limit) {
			return 0, nil, fmt.Errorf("channel %#x: %w: %d bytes, limit %d", byte(ch), ErrMessageTooLarge, total, limit)
		}
		buf = make([]byte, 0, total)
	case buf == nil && flags&frameLast == 0:
		return 0, nil, fmt.Errorf("channel %#x: %w: continuation without a start", byte(ch), errFrameSequence)
	}
	n, err := binary.ReadUvarint(d.r)
	if err != nil {
		return 0, nil, unexpectedEOF(err)
	}
	switch {
	case n > MaxFramePayload:
		return 0, nil, fmt.Errorf("%w: %d bytes", errFrameTooLarge, n)
	case buf == nil && n > uint64(limit):
		return 0, nil, fmt.Errorf("channel %#x: %w: %d bytes, limit %d", byte(ch), ErrMessageTooLarge, n, limit)
	case buf != nil && n > uint64(cap(buf)-len(buf)):
		return 0, nil, fmt.Errorf("channel %#x: %w: frames exceed the announced %d bytes", byte(ch), errFrameSequence, cap(buf))
	}
	if buf == nil {
		// A message in one frame: the common case for consensus traffic.
		msg := make([]byte, n)
		if _, err := io.ReadFull(d.r, msg); err != nil {
			return 0, nil, unexpectedEOF(err)
		}
		return ch, msg, nil
	}
	end := len(buf) + int(n)
	if _, err := io.ReadFull(d.r, buf[len(buf):end]); err != nil {
		return 0, nil, unexpectedEOF(err)
	}
	buf = buf[:end]
	if flags&frameLast == 0 {
		d.partial[ch] = buf
		return 0, nil, nil
	}
	d.partial[ch] = nil
	if len(buf) != cap(buf) {
		return 0, nil, fmt.Errorf("channel %#x: %w: message ended at %d of %d bytes", byte(ch), errFrameSequence, len(buf), cap(buf))
	}
	return ch, buf, nil
}

// unexpectedEOF turns an EOF in the middle of a frame into the truncation it is.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
