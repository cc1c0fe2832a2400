package store

import (
	"fmt"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/core"
	"github.com/tutti-bft/tutti/engine/order"
)

func abciBlockToProto(b *order.ABCIBlock) *ABCIBlockProto {
	p := &ABCIBlockProto{Height: b.Height, TimeMs: b.TimeMs, ProposerIndex: int64(b.ProposerIndex),
		ProposerPubKey: b.ProposerPubKey, Txs: b.Txs, LastBlockHash: b.LastBlockHash, AppHash: b.AppHash,
		LastResultsHash: b.LastResultsHash, NextValidatorsHash: b.NextValidatorsHash, Epoch: b.Epoch,
		FirstCommit: b.FirstCommit, LastCommit: b.LastCommit, Hash: b.Hash}
	for _, v := range b.DecidedLastCommit {
		p.DecidedLastCommit = append(p.DecidedLastCommit, CommitVoteProto{ValidatorIndex: int64(v.ValidatorIndex),
			PubKey: v.PubKey, Power: v.Power, Signed: v.Signed})
	}
	for _, m := range b.Misbehavior {
		p.Misbehavior = append(p.Misbehavior, MisbehaviorProto{Kind: int64(m.Kind), ValidatorIndex: int64(m.ValidatorIndex),
			PubKey: m.PubKey, Power: m.Power, Height: m.Height, TimeMs: m.TimeMs, Epoch: m.Epoch, Round: m.Round})
	}
	return p
}

func abciBlockFromProto(p *ABCIBlockProto) *order.ABCIBlock {
	b := &order.ABCIBlock{Height: p.Height, TimeMs: p.TimeMs, ProposerIndex: int(p.ProposerIndex),
		ProposerPubKey: p.ProposerPubKey, Txs: p.Txs, LastBlockHash: p.LastBlockHash, AppHash: p.AppHash,
		LastResultsHash: p.LastResultsHash, NextValidatorsHash: p.NextValidatorsHash, Epoch: p.Epoch,
		FirstCommit: p.FirstCommit, LastCommit: p.LastCommit, Hash: p.Hash}
	for _, v := range p.DecidedLastCommit {
		b.DecidedLastCommit = append(b.DecidedLastCommit, order.CommitVote{ValidatorIndex: int(v.ValidatorIndex),
			PubKey: v.PubKey, Power: v.Power, Signed: v.Signed})
	}
	for _, m := range p.Misbehavior {
		b.Misbehavior = append(b.Misbehavior, order.Misbehavior{Kind: order.MisbehaviorKind(m.Kind),
			ValidatorIndex: int(m.ValidatorIndex), PubKey: m.PubKey, Power: m.Power, Height: m.Height,
			TimeMs: m.TimeMs, Epoch: m.Epoch, Round: m.Round})
	}
	return b
}

func resultToProto(r core.ExecutionResult, retainHeight int64) *ResultProto {
	p := &ResultProto{Height: r.Height, AppHash: r.AppHash, ResultsHash: r.ResultsHash,
		NextValidatorsHash: r.NextValidatorsHash, RetainHeight: retainHeight}
	for _, u := range r.ValidatorUpdates {
		p.ValidatorUpdates = append(p.ValidatorUpdates, ValidatorUpdateProto{PubKey: u.PubKey, Power: u.Power})
	}
	return p
}

func resultFromProto(p *ResultProto) core.ExecutionResult {
	r := core.ExecutionResult{Height: p.Height, AppHash: p.AppHash, ResultsHash: p.ResultsHash,
		NextValidatorsHash: p.NextValidatorsHash}
	for _, u := range p.ValidatorUpdates {
		r.ValidatorUpdates = append(r.ValidatorUpdates, core.ValidatorUpdate{PubKey: u.PubKey, Power: u.Power})
	}
	return r
}

func marshalValidatorSet(vs *cmttypes.ValidatorSet) ([]byte, error) {
	p, err := vs.ToProto()
	if err != nil {
		return nil, err
	}
	return p.Marshal()
}

// unmarshalValidatorSet decodes bytes that already passed their record's checksum;
// ValidatorSetFromProto validates every key and power.
func unmarshalValidatorSet(bz []byte) (*cmttypes.ValidatorSet, error) {
	var p cmtproto.ValidatorSet
	if err := p.Unmarshal(bz); err != nil {
		return nil, err
	}
	vs, err := cmttypes.ValidatorSetFromProto(&p)
	if err != nil {
		return nil, fmt.Errorf("validator set: %w", err)
	}
	return vs, nil
}
