package rpc

import (
	"errors"
	"fmt"

	"github.com/cometbft/cometbft/libs/bytes"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/store"
)

// blockchainLimit is how many block metas one blockchain call returns, as CometBFT.
const blockchainLimit = 20

func (s *Server) block(_ *rpctypes.Context, heightPtr *int64) (*ctypes.ResultBlock, error) {
	h, err := s.height(heightPtr)
	if err != nil {
		return nil, err
	}
	b, blk, err := s.loadBlock(h)
	if err != nil {
		return nil, err
	}
	return &ctypes.ResultBlock{BlockID: blockID(b.Hash), Block: blk}, nil
}

// heightOfHash finds a block by the hash the app got in FinalizeBlock; an unknown hash
// is CometBFT's empty answer, not an error.
func (s *Server) heightOfHash(hash []byte) (int64, bool, error) {
	h, err := s.Store.HeightByHash(hash)
	if errors.Is(err, store.ErrNotFound) || (err == nil && h < s.Store.Base()) {
		return 0, false, nil
	}
	return h, err == nil, err
}

func (s *Server) blockByHash(_ *rpctypes.Context, hash []byte) (*ctypes.ResultBlock, error) {
	h, ok, err := s.heightOfHash(hash)
	if err != nil || !ok {
		return &ctypes.ResultBlock{}, err
	}
	b, blk, err := s.loadBlock(h)
	if err != nil {
		return nil, err
	}
	return &ctypes.ResultBlock{BlockID: blockID(b.Hash), Block: blk}, nil
}

func (s *Server) header(_ *rpctypes.Context, heightPtr *int64) (*ctypes.ResultHeader, error) {
	h, err := s.height(heightPtr)
	if err != nil {
		return nil, err
	}
	_, blk, err := s.loadBlock(h)
	if err != nil {
		return nil, err
	}
	return &ctypes.ResultHeader{Header: &blk.Header}, nil
}

func (s *Server) headerByHash(_ *rpctypes.Context, hash bytes.HexBytes) (*ctypes.ResultHeader, error) {
	h, ok, err := s.heightOfHash(hash)
	if err != nil || !ok {
		return &ctypes.ResultHeader{}, err
	}
	_, blk, err := s.loadBlock(h)
	if err != nil {
		return nil, err
	}
	return &ctypes.ResultHeader{Header: &blk.Header}, nil
}

// blockchain returns the metas of at most 20 heights in [minHeight, maxHeight], newest
// first; 0 means "from the lowest" and "to the latest".
func (s *Server) blockchain(_ *rpctypes.Context, minHeight, maxHeight int64) (*ctypes.ResultBlockchainInfo, error) {
	base, latest := s.Store.Base(), s.Store.Height()
	if minHeight < 0 || maxHeight < 0 {
		return nil, errors.New("heights must be non-negative")
	}
	if minHeight == 0 {
		minHeight = 1
	}
	if maxHeight == 0 {
		maxHeight = latest
	}
	maxHeight = min(latest, maxHeight)
	minHeight = max(base, minHeight, maxHeight-blockchainLimit+1)
	if minHeight > maxHeight {
		return nil, fmt.Errorf("min height %d can't be greater than max height %d", minHeight, maxHeight)
	}
	res := &ctypes.ResultBlockchainInfo{LastHeight: latest}
	for h := maxHeight; h >= minHeight; h-- {
		b, blk, err := s.loadBlock(h)
		if err != nil {
			return nil, err
		}
		res.BlockMetas = append(res.BlockMetas, blockMeta(blk, b.Hash))
	}
	return res, nil
}

func (s *Server) blockResults(_ *rpctypes.Context, heightPtr *int64) (*ctypes.ResultBlockResults, error) {
	h, err := s.height(heightPtr)
	if err != nil {
		return nil, err
	}
	r, err := s.Store.Response(h)
	if err != nil {
		return nil, err
	}
	return &ctypes.ResultBlockResults{Height: h, TxsResults: r.TxResults, FinalizeBlockEvents: r.Events,
		ValidatorUpdates: r.ValidatorUpdates, ConsensusParamUpdates: r.ConsensusParamUpdates, AppHash: r.AppHash}, nil
}

// commit is the evidence that height h is final: the validators whose attestations of h
// the cut of h+1 ordered (block h+1's DecidedLastCommit), canonical. For the latest height
// no later block has ordered attestations yet: the answer is h's header with an empty,
// non-canonical commit (CometBFT would give the precommits it saw; Tutti has no such
// thing outside the DAG). README.md describes the format and how a client checks it.
func (s *Server) commit(_ *rpctypes.Context, heightPtr *int64) (*ctypes.ResultCommit, error) {
	h, err := s.height(heightPtr)
	if err != nil {
		return nil, err
	}
	b, blk, err := s.loadBlock(h)
	if err != nil {
		return nil, err
	}
	if h == s.Store.Height() {
		return ctypes.NewResultCommit(&blk.Header, &cmttypes.Commit{Height: h, BlockID: blockID(b.Hash)}, false), nil
	}
	next, err := s.Store.Block(h + 1)
	if err != nil {
		return nil, err
	}
	c, err := s.lastCommit(next)
	if err != nil {
		return nil, err
	}
	return ctypes.NewResultCommit(&blk.Header, c, true), nil
}

// validators pages the set of a height (the latest + 1 by default, as CometBFT).
func (s *Server) validators(_ *rpctypes.Context, heightPtr *int64, pagePtr, perPagePtr *int) (*ctypes.ResultValidators, error) {
	h, err := s.heightOrNext(heightPtr)
	if err != nil {
		return nil, err
	}
	vals, err := s.validatorsAt(h)
	if err != nil {
		return nil, err
	}
	total := len(vals.Validators)
	per := perPage(perPagePtr)
	pg, err := page(pagePtr, per, total)
	if err != nil {
		return nil, err
	}
	from, to := pageBounds(pg, per, total)
	return &ctypes.ResultValidators{BlockHeight: h, Validators: vals.Validators[from:to], Count: to - from, Total: total}, nil
}
