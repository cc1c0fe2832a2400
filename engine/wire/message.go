package wire

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/tutti-bft/tutti/engine/types"
)

// Message is one engine-to-engine message. Exactly one of its fields is set.
type Message struct {
	Block         *types.Block
	FetchRequest  []types.Ref    // blocks the sender lacks
	FetchResponse []*types.Block // blocks answering a request
	Sync          *SyncRequest   // a range of blocks the sender lacks, answered by FetchResponse
	Relay         *TxRelay       // transactions the sender admitted, passed on
	isFetchReq    bool
	isFetchResp   bool
}

// SyncRequest asks for the blocks of Epoch above the rounds the sender holds, oldest
// first: Highest[a] is the highest round of author a it holds there (0: none).
type SyncRequest struct {
	Epoch   uint64
	Highest []uint64
}

// TxRelay is transactions a node admitted to its mempool, passed on to a peer. Owner is the
// public key of the validator meant to propose them, or empty when the sender knows none.
type TxRelay struct {
	Owner []byte
	Txs   [][]byte
}

// TxRelayMessage passes admitted transactions on.
func TxRelayMessage(owner []byte, txs [][]byte) Message {
	return Message{Relay: &TxRelay{Owner: owner, Txs: txs}}
}

// SyncRequestMessage asks a peer for the blocks of an epoch above highest, oldest first.
func SyncRequestMessage(epoch uint64, highest []uint64) Message {
	return Message{Sync: &SyncRequest{Epoch: epoch, Highest: highest}}
}

// BlockMessage wraps a block being broadcast.
func BlockMessage(b *types.Block) Message { return Message{Block: b} }

// FetchRequestMessage asks a peer for blocks.
func FetchRequestMessage(refs []types.Ref) Message {
	return Message{FetchRequest: refs, isFetchReq: true}
}

// FetchResponseMessage answers a fetch request.
func FetchResponseMessage(blocks []*types.Block) Message {
	return Message{FetchResponse: blocks, isFetchResp: true}
}

// IsFetchRequest reports whether the message is a fetch request (possibly for no refs).
func (m Message) IsFetchRequest() bool { return m.isFetchReq }

// IsFetchResponse reports whether the message is a fetch response (possibly empty).
func (m Message) IsFetchResponse() bool { return m.isFetchResp }

// Limits bound what Decode accepts.
type Limits struct {
	MaxMessageBytes int
	MaxRefs         int // per fetch request
	MaxBlocks       int // per fetch response
	Block           types.BlockLimits
}

// DefaultLimits allow one full block per message and modest fetch batches.
func DefaultLimits() Limits {
	bl := types.DefaultBlockLimits()
	return Limits{MaxMessageBytes: bl.MaxPayloadBytes + (1 << 20), MaxRefs: 1024, MaxBlocks: 64, Block: bl}
}

// Errors Decode wraps, so callers can tell oversize input from malformed input.
var (
	ErrTooLarge  = errors.New("message too large")
	ErrMalformed = errors.New("malformed message")
)

// Encode marshals a message for a peer.
func Encode(m Message) ([]byte, error) {
	var p MessageProto
	set := 0
	if m.Block != nil {
		bp := m.Block.ToProto()
		p.Block = &bp
		set++
	}
	if m.isFetchReq {
		p.FetchRequest = &FetchRequestProto{Refs: make([]types.RefProto, len(m.FetchRequest))}
		for i, r := range m.FetchRequest {
			p.FetchRequest.Refs[i] = types.RefToProto(r)
		}
		set++
	}
	if m.isFetchResp {
		p.FetchResponse = &FetchResponseProto{Blocks: make([]types.BlockProto, len(m.FetchResponse))}
		for i, b := range m.FetchResponse {
			p.FetchResponse.Blocks[i] = b.ToProto()
		}
		set++
	}
	if m.Sync != nil {
		p.SyncRequest = &SyncRequestProto{Epoch: m.Sync.Epoch, Highest: m.Sync.Highest}
		set++
	}
	if m.Relay != nil {
		p.TxRelay = &TxRelayProto{Owner: m.Relay.Owner, Txs: m.Relay.Txs}
		set++
	}
	if set != 1 {
		return nil, fmt.Errorf("message must carry exactly one kind, has %d", set)
	}
	return p.Marshal()
}

// Decode parses untrusted bytes within the limits. Every failure is an error wrapping
// ErrTooLarge or ErrMalformed; no input makes it panic.
func Decode(b []byte, l Limits) (m Message, err error) {
	if len(b) > l.MaxMessageBytes {
		return Message{}, fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, len(b), l.MaxMessageBytes)
	}
	defer func() {
		// The generated unmarshaller bounds-checks every length; this guard turns any bug
		// in it into an error instead of a crashed node.
		if r := recover(); r != nil {
			m, err = Message{}, fmt.Errorf("%w: decoder panic: %v", ErrMalformed, r)
		}
	}()
	var p MessageProto
	if err := p.Unmarshal(b); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	set := 0
	for _, present := range []bool{p.Block != nil, p.FetchRequest != nil, p.FetchResponse != nil, p.SyncRequest != nil, p.TxRelay != nil} {
		if present {
			set++
		}
	}
	if set != 1 {
		return Message{}, fmt.Errorf("%w: %d kinds set, want 1", ErrMalformed, set)
	}
	switch {
	case p.Block != nil:
		blk, err := decodeBlock(p.Block, l.Block)
		if err != nil {
			return Message{}, err
		}
		return BlockMessage(blk), nil
	case p.FetchRequest != nil:
		if len(p.FetchRequest.Refs) > l.MaxRefs {
			return Message{}, fmt.Errorf("%w: %d refs, max %d", ErrTooLarge, len(p.FetchRequest.Refs), l.MaxRefs)
		}
		refs := make([]types.Ref, len(p.FetchRequest.Refs))
		for i, rp := range p.FetchRequest.Refs {
			if refs[i], err = types.RefFromProto(rp); err != nil {
				return Message{}, fmt.Errorf("%w: ref %d: %v", ErrMalformed, i, err)
			}
		}
		return FetchRequestMessage(refs), nil
	case p.SyncRequest != nil:
		// One round per author of the sender's committee: committees are far below MaxRefs.
		if len(p.SyncRequest.Highest) > l.MaxRefs {
			return Message{}, fmt.Errorf("%w: %d authors in a sync request, max %d", ErrTooLarge, len(p.SyncRequest.Highest), l.MaxRefs)
		}
		return SyncRequestMessage(p.SyncRequest.Epoch, p.SyncRequest.Highest), nil
	case p.TxRelay != nil:
		return decodeRelay(p.TxRelay, l.Block)
	default:
		if len(p.FetchResponse.Blocks) > l.MaxBlocks {
			return Message{}, fmt.Errorf("%w: %d blocks, max %d", ErrTooLarge, len(p.FetchResponse.Blocks), l.MaxBlocks)
		}
		blocks := make([]*types.Block, len(p.FetchResponse.Blocks))
		for i := range p.FetchResponse.Blocks {
			if blocks[i], err = decodeBlock(&p.FetchResponse.Blocks[i], l.Block); err != nil {
				return Message{}, fmt.Errorf("block %d: %w", i, err)
			}
		}
		return FetchResponseMessage(blocks), nil
	}
}

// decodeRelay holds relayed transactions to what a block may carry: as many, each no
// larger and none empty, and an owner that is an ed25519 public key or nothing.
func decodeRelay(p *TxRelayProto, l types.BlockLimits) (Message, error) {
	if len(p.Txs) == 0 {
		return Message{}, fmt.Errorf("%w: a relay without transactions", ErrMalformed)
	}
	if len(p.Txs) > l.MaxTxs {
		return Message{}, fmt.Errorf("%w: %d relayed txs, max %d", ErrTooLarge, len(p.Txs), l.MaxTxs)
	}
	if len(p.Owner) != 0 && len(p.Owner) != ed25519.PublicKeySize {
		return Message{}, fmt.Errorf("%w: relay owner of %d bytes, want %d", ErrMalformed, len(p.Owner), ed25519.PublicKeySize)
	}
	for i, tx := range p.Txs {
		switch {
		case len(tx) == 0:
			return Message{}, fmt.Errorf("%w: relayed tx %d is empty", ErrMalformed, i)
		case len(tx) > l.MaxTxBytes:
			return Message{}, fmt.Errorf("%w: relayed tx %d has %d bytes, max %d", ErrTooLarge, i, len(tx), l.MaxTxBytes)
		}
	}
	return TxRelayMessage(p.Owner, p.Txs), nil
}

func decodeBlock(p *types.BlockProto, l types.BlockLimits) (*types.Block, error) {
	b, err := types.BlockFromProto(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := l.CheckShape(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTooLarge, err)
	}
	return b, nil
}
