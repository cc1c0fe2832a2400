package rpc

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/bytes"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/proxy"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"

	"github.com/tutti-bft/tutti/engine/genesis"
)

// genesisChunkSize is CometBFT's: a genesis larger than one chunk is served only by
// genesis_chunked.
const genesisChunkSize = 16 * 1024 * 1024

func genesisChunks(g *genesis.Doc) ([]string, error) {
	data, err := cmtjson.Marshal(g.CometBFTDoc())
	if err != nil {
		return nil, fmt.Errorf("rpc: encode the genesis: %w", err)
	}
	var chunks []string
	for i := 0; i < len(data); i += genesisChunkSize {
		chunks = append(chunks, base64.StdEncoding.EncodeToString(data[i:min(i+genesisChunkSize, len(data))]))
	}
	return chunks, nil
}

func (s *Server) health(*rpctypes.Context) (*ctypes.ResultHealth, error) {
	return &ctypes.ResultHealth{}, nil
}

func (s *Server) status(*rpctypes.Context) (*ctypes.ResultStatus, error) {
	var sync ctypes.SyncInfo
	if latest := s.Store.Height(); latest > 0 {
		b, err := s.Store.Block(latest)
		if err != nil {
			return nil, err
		}
		sync.LatestBlockHash, sync.LatestAppHash, sync.LatestBlockHeight = b.Hash, b.AppHash, b.Height
		sync.LatestBlockTime = blockTime(b.TimeMs)
		earliest, err := s.Store.Block(s.Store.Base())
		if err != nil {
			return nil, err
		}
		sync.EarliestBlockHash, sync.EarliestAppHash, sync.EarliestBlockHeight = earliest.Hash, earliest.AppHash, earliest.Height
		sync.EarliestBlockTime = blockTime(earliest.TimeMs)
	}
	sync.CatchingUp = s.CatchingUp != nil && s.CatchingUp()
	res := &ctypes.ResultStatus{NodeInfo: s.P2P.NodeInfo(), SyncInfo: sync,
		ValidatorInfo: ctypes.ValidatorInfo{Address: s.PubKey.Address(), PubKey: s.PubKey}}
	// The voting power is this key's in the set of the next height, the one that signs it.
	if vals, err := s.validatorsAt(s.Store.Height() + 1); err == nil {
		if _, v := vals.GetByAddress(s.PubKey.Address()); v != nil {
			res.ValidatorInfo.VotingPower = v.VotingPower
		}
	}
	return res, nil
}

// netInfo lists the peers as CometBFT does: what each said about itself in its handshake
// and the status of its current link. The one listener is shown in CometBFT's format with
// the node's advertised listen address; CometBFT puts its external_address there, empty
// unless configured.
func (s *Server) netInfo(*rpctypes.Context) (*ctypes.ResultNetInfo, error) {
	peers := s.P2P.Peers()
	res := &ctypes.ResultNetInfo{Listening: true, Listeners: []string{"Listener(@" + s.P2P.NodeInfo().ListenAddr + ")"},
		NPeers: len(peers), Peers: make([]ctypes.Peer, 0, len(peers))}
	for _, p := range peers {
		host, _, err := net.SplitHostPort(p.RemoteAddr)
		if err != nil {
			host = p.RemoteAddr
		}
		// A peer gone since Peers() keeps its entry with a zero status: n_peers counted it.
		status, _ := s.P2P.ConnectionStatus(p.ID)
		res.Peers = append(res.Peers, ctypes.Peer{NodeInfo: p.NodeInfo, IsOutbound: p.Outbound,
			ConnectionStatus: status, RemoteIP: host})
	}
	return res, nil
}

func (s *Server) genesis(*rpctypes.Context) (*ctypes.ResultGenesis, error) {
	if len(s.genChunks) > 1 {
		return nil, errors.New("genesis response is large, please use the genesis_chunked API instead")
	}
	return &ctypes.ResultGenesis{Genesis: s.Genesis.CometBFTDoc()}, nil
}

func (s *Server) genesisChunked(_ *rpctypes.Context, chunk uint) (*ctypes.ResultGenesisChunk, error) {
	if len(s.genChunks) == 0 {
		return nil, errors.New("service configuration error, genesis chunks are not initialized")
	}
	// Compared as uint: converted first, 2^64-1 would be chunk -1 (CometBFT's own handler
	// has that bug; the fuzz test's seed holds it).
	// CometBFT says "there are 0 chunks" here for a genesis of one chunk (it prints the
	// last index), while chunk 0 reports a total of 1: the count said is the total.
	if chunk >= uint(len(s.genChunks)) {
		return nil, fmt.Errorf("chunk %d is invalid: the genesis has %d chunk(s), numbered from 0 to %d", chunk, len(s.genChunks), len(s.genChunks)-1)
	}
	return &ctypes.ResultGenesisChunk{TotalChunks: len(s.genChunks), ChunkNumber: int(chunk), Data: s.genChunks[chunk]}, nil
}

func (s *Server) abciInfo(ctx *rpctypes.Context) (*ctypes.ResultABCIInfo, error) {
	res, err := s.AppQuery.Info(ctx.Context(), proxy.RequestInfo)
	if err != nil {
		return nil, err
	}
	return &ctypes.ResultABCIInfo{Response: *res}, nil
}

func (s *Server) abciQuery(ctx *rpctypes.Context, path string, data bytes.HexBytes, height int64, prove bool) (*ctypes.ResultABCIQuery, error) {
	res, err := s.AppQuery.Query(ctx.Context(), &abci.RequestQuery{Path: path, Data: data, Height: height, Prove: prove})
	if err != nil {
		return nil, err
	}
	return &ctypes.ResultABCIQuery{Response: *res}, nil
}

// consensusParams answers for a stored height or the next one, as CometBFT does.
func (s *Server) consensusParams(_ *rpctypes.Context, heightPtr *int64) (*ctypes.ResultConsensusParams, error) {
	h, err := s.heightOrNext(heightPtr)
	if err != nil {
		return nil, err
	}
	params, err := s.params.at(h)
	if err != nil {
		return nil, err
	}
	return &ctypes.ResultConsensusParams{BlockHeight: h, ConsensusParams: params}, nil
}

// heightOrNext is height() that also accepts the height being ordered now (latest + 1),
// and defaults to it: validators and consensus parameters are known one height ahead.
func (s *Server) heightOrNext(p *int64) (int64, error) {
	next := max(s.Store.Height()+1, s.Genesis.InitialHeight)
	if p == nil {
		return next, nil
	}
	if *p == next {
		return next, nil
	}
	return s.height(p)
}
