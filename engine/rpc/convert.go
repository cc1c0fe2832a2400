package rpc

import (
	"errors"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/merkle"
	cmtversionpb "github.com/cometbft/cometbft/proto/tendermint/version"
	cmttypes "github.com/cometbft/cometbft/types"
	cmtversion "github.com/cometbft/cometbft/version"

	"github.com/tutti-bft/tutti/engine/order"
	"github.com/tutti-bft/tutti/engine/store"
)

// This file maps Tutti's ABCI blocks onto CometBFT's block, header and commit types, so
// that clients decode them with the types they already have. What cannot be the same
// (the block hash, the commit's signatures) is described in README.md.

// blockID is CometBFT's BlockID for one of our blocks: the hash is the one the app got in
// FinalizeBlock (order.ABCIBlock.Hash), which is also what block_by_hash looks up. There
// are no block parts: Tutti does not gossip blocks in parts.
func blockID(hash []byte) cmttypes.BlockID { return cmttypes.BlockID{Hash: hash} }

// validatorsAt is the validator set of height h (the set whose attestations close h).
func (s *Server) validatorsAt(h int64) (*cmttypes.ValidatorSet, error) {
	prev := h - 1
	if h <= s.Genesis.InitialHeight {
		prev = 0 // the store keeps the genesis set (InitChain's) as the set after "height 0"
	}
	next, _, err := s.Store.ValidatorSets(prev)
	if err != nil {
		return nil, fmt.Errorf("validator set of height %d: %w", h, err)
	}
	if next == nil {
		return nil, fmt.Errorf("validator set of height %d: %w", h, store.ErrNotFound)
	}
	return next, nil
}

// cometBlock is height h's block as CometBFT's type, with its BlockID.
func (s *Server) cometBlock(b *order.ABCIBlock) (*cmttypes.Block, error) {
	vals, err := s.validatorsAt(b.Height)
	if err != nil {
		return nil, err
	}
	params, err := s.params.at(b.Height)
	if err != nil {
		return nil, err
	}
	lastCommit, err := s.lastCommit(b)
	if err != nil {
		return nil, err
	}
	txs := make(cmttypes.Txs, len(b.Txs))
	for i, tx := range b.Txs {
		txs[i] = tx
	}
	// An empty evidence list, not a nil one: CometBFT's blocks come out of protobuf with
	// one, so clients see "evidence": [] and some fail on null.
	blk := &cmttypes.Block{Data: cmttypes.Data{Txs: txs}, Evidence: cmttypes.EvidenceData{Evidence: cmttypes.EvidenceList{}},
		LastCommit: lastCommit}
	var lastID cmttypes.BlockID
	if len(b.LastBlockHash) > 0 {
		lastID = blockID(b.LastBlockHash)
	}
	lastResults := b.LastResultsHash
	if len(lastResults) == 0 {
		// Only the initial height has no previous results. CometBFT gives it the Merkle
		// root of no results (sha256 of nothing), which it sets after InitChain.
		lastResults = merkle.HashFromByteSlices(nil)
	}
	blk.Header.Populate(cmtversionpb.Consensus{Block: cmtversion.BlockProtocol, App: params.Version.App}, s.Genesis.ChainID,
		blockTime(b.TimeMs), lastID, vals.Hash(), b.NextValidatorsHash, params.Hash(), b.AppHash,
		lastResults, proposerAddress(b.ProposerPubKey))
	blk.Header.Height = b.Height
	blk.LastCommitHash = lastCommit.Hash()
	blk.DataHash = blk.Data.Hash()
	blk.EvidenceHash = blk.Evidence.Hash()
	return blk, nil
}

// proposerAddress is the address of the validator whose leader block this height's last
// commit came from. Validator keys are ed25519 (the privval key Tutti signs with).
func proposerAddress(pub []byte) cmttypes.Address {
	if len(pub) != ed25519.PubKeySize {
		return nil
	}
	return ed25519.PubKey(pub).Address()
}

// lastCommit is block b's LastCommit: the validators of height b.Height-1, each COMMIT when
// b's cut ordered its attestation of b.Height-1 (exactly the DecidedLastCommit the app got)
// or ABSENT. An attestation is signed as part of a whole DAG block, not as a CometBFT vote,
// so there is no per-validator vote signature to put here: Signature stays empty (README:
// "commit").
func (s *Server) lastCommit(b *order.ABCIBlock) (*cmttypes.Commit, error) {
	if b.Height <= s.Genesis.InitialHeight || len(b.LastBlockHash) == 0 {
		return &cmttypes.Commit{}, nil
	}
	signed := make(map[string]bool, len(b.DecidedLastCommit))
	for _, v := range b.DecidedLastCommit {
		if v.Signed {
			signed[string(proposerAddress(v.PubKey))] = true
		}
	}
	at := blockTime(b.TimeMs)
	commit := &cmttypes.Commit{Height: b.Height - 1, BlockID: blockID(b.LastBlockHash)}
	vals, err := s.validatorsAt(b.Height - 1)
	switch {
	case err == nil:
		for _, v := range vals.Validators {
			commit.Signatures = append(commit.Signatures, commitSig(v.Address, signed[string(v.Address)], at))
		}
	case errors.Is(err, store.ErrNotFound):
		// The set was pruned with its height; the block's own list names the same
		// validators in the same order.
		for _, v := range b.DecidedLastCommit {
			commit.Signatures = append(commit.Signatures, commitSig(proposerAddress(v.PubKey), v.Signed, at))
		}
	default:
		return nil, err
	}
	return commit, nil
}

func commitSig(addr cmttypes.Address, signed bool, at time.Time) cmttypes.CommitSig {
	if !signed {
		return cmttypes.NewCommitSigAbsent()
	}
	return cmttypes.CommitSig{BlockIDFlag: cmttypes.BlockIDFlagCommit, ValidatorAddress: addr, Timestamp: at}
}

// blockMeta is blockchain's summary of one block.
func blockMeta(blk *cmttypes.Block, hash []byte) *cmttypes.BlockMeta {
	return &cmttypes.BlockMeta{BlockID: blockID(hash), BlockSize: blk.Size(), Header: blk.Header, NumTxs: len(blk.Txs)}
}

// loadBlock reads stored height h and converts it.
func (s *Server) loadBlock(h int64) (*order.ABCIBlock, *cmttypes.Block, error) {
	b, err := s.Store.Block(h)
	if err != nil {
		return nil, nil, err
	}
	blk, err := s.cometBlock(b)
	if err != nil {
		return nil, nil, err
	}
	return b, blk, nil
}

// blockTime is a block's time as CometBFT's types carry it: UTC, in whole milliseconds,
// which is the precision of the time Tutti orders with its DAG commit.
func blockTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
