package types

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/libs/protoio"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
)

// Attestation is a validator's signed statement (signed as part of its DAG block) that it
// executed ABCI block Height with these results. A quorum of them closes block Height+1.
type Attestation struct {
	ChainID            string
	Height             int64
	BlockHash          []byte
	AppHash            []byte
	ResultsHash        []byte
	NextValidatorsHash []byte
}

// SameResult reports whether two attestations state the same execution outcome.
func (a *Attestation) SameResult(b *Attestation) bool {
	return a.ChainID == b.ChainID && a.Height == b.Height && string(a.BlockHash) == string(b.BlockHash) &&
		string(a.AppHash) == string(b.AppHash) && string(a.ResultsHash) == string(b.ResultsHash) &&
		string(a.NextValidatorsHash) == string(b.NextValidatorsHash)
}

// Equivocation proves that an author signed two different blocks for one slot. DigestA is
// the smaller digest so that every node builds the same evidence for the same pair.
type Equivocation struct {
	Epoch      uint64
	Round      uint64
	Author     int
	DigestA    Digest
	SignatureA []byte
	DigestB    Digest
	SignatureB []byte
}

// NewEquivocation builds the canonical evidence for two different blocks of one slot.
func NewEquivocation(a, b *Block) Equivocation {
	da, db := a.Digest(), b.Digest()
	if string(db[:]) < string(da[:]) {
		a, b, da, db = b, a, db, da
	}
	return Equivocation{Epoch: a.Epoch, Round: a.Round, Author: a.Author,
		DigestA: da, SignatureA: a.Signature, DigestB: db, SignatureB: b.Signature}
}

// Block is one DAG vertex. A block is immutable once built: its digest is cached.
type Block struct {
	Epoch       uint64
	Round       uint64
	Author      int
	TimeMs      int64
	Parents     []Ref // the author's own previous block first
	Txs         [][]byte
	Evidence    []Equivocation
	Attestation *Attestation
	Signature   []byte

	digest    Digest
	hasDigest bool
}

// Slot returns the block's (round, author).
func (b *Block) Slot() Slot { return Slot{Round: b.Round, Author: b.Author} }

// Ref returns the reference other blocks use for this one.
func (b *Block) Ref() Ref { return Ref{Author: b.Author, Round: b.Round, Digest: b.Digest()} }

// Digest is sha256 over the canonical unsigned bytes, computed once.
func (b *Block) Digest() Digest {
	if !b.hasDigest {
		b.digest = sha256.Sum256(b.UnsignedBytes())
		b.hasDigest = true
	}
	return b.digest
}

// PayloadBytes is the total size of the block's transactions.
func (b *Block) PayloadBytes() int {
	n := 0
	for _, tx := range b.Txs {
		n += len(tx)
	}
	return n
}

// UnsignedBytes is the block marshalled without its signature: fields in number order,
// no maps, so every node computes the same bytes.
func (b *Block) UnsignedBytes() []byte {
	p := b.toProto(false)
	bz, err := p.Marshal()
	if err != nil {
		// Marshal of a well-formed in-memory message cannot fail; a failure here is a bug.
		panic(fmt.Sprintf("marshal block: %v", err))
	}
	return bz
}

// ToProto converts the block (with its signature) for the wire.
func (b *Block) ToProto() BlockProto { return b.toProto(true) }

func (b *Block) toProto(withSignature bool) BlockProto {
	p := BlockProto{Epoch: b.Epoch, Round: b.Round, Author: uint32(b.Author), TimeMs: b.TimeMs, Txs: b.Txs}
	if len(b.Parents) > 0 {
		p.Parents = make([]RefProto, len(b.Parents))
		for i, r := range b.Parents {
			p.Parents[i] = r.toProto()
		}
	}
	if len(b.Evidence) > 0 {
		p.Evidence = make([]EquivocationProto, len(b.Evidence))
		for i, e := range b.Evidence {
			p.Evidence[i] = EquivocationProto{Epoch: e.Epoch, Round: e.Round, Author: uint32(e.Author),
				DigestA: e.DigestA[:], SignatureA: e.SignatureA, DigestB: e.DigestB[:], SignatureB: e.SignatureB}
		}
	}
	if a := b.Attestation; a != nil {
		p.Attestation = &AttestationProto{ChainId: a.ChainID, Height: a.Height, BlockHash: a.BlockHash,
			AppHash: a.AppHash, ResultsHash: a.ResultsHash, NextValidatorsHash: a.NextValidatorsHash}
	}
	if withSignature {
		p.Signature = b.Signature
	}
	return p
}

// BlockFromProto converts a decoded block, checking only the shape of its fields (sizes,
// digest lengths); protocol validity is the DAG's job.
func BlockFromProto(p *BlockProto) (*Block, error) {
	if p.Author > MaxValidators {
		return nil, fmt.Errorf("block author %d exceeds %d", p.Author, MaxValidators)
	}
	b := &Block{Epoch: p.Epoch, Round: p.Round, Author: int(p.Author), TimeMs: p.TimeMs, Txs: p.Txs,
		Signature: p.Signature}
	if len(p.Parents) > 0 {
		b.Parents = make([]Ref, len(p.Parents))
		for i, rp := range p.Parents {
			r, err := RefFromProto(rp)
			if err != nil {
				return nil, fmt.Errorf("parent %d: %w", i, err)
			}
			b.Parents[i] = r
		}
	}
	for i, ep := range p.Evidence {
		if len(ep.DigestA) != DigestSize || len(ep.DigestB) != DigestSize {
			return nil, fmt.Errorf("evidence %d: digest length", i)
		}
		if ep.Author > MaxValidators {
			return nil, fmt.Errorf("evidence %d: author %d exceeds %d", i, ep.Author, MaxValidators)
		}
		e := Equivocation{Epoch: ep.Epoch, Round: ep.Round, Author: int(ep.Author),
			SignatureA: ep.SignatureA, SignatureB: ep.SignatureB}
		copy(e.DigestA[:], ep.DigestA)
		copy(e.DigestB[:], ep.DigestB)
		b.Evidence = append(b.Evidence, e)
	}
	if a := p.Attestation; a != nil {
		b.Attestation = &Attestation{ChainID: a.ChainId, Height: a.Height, BlockHash: a.BlockHash,
			AppHash: a.AppHash, ResultsHash: a.ResultsHash, NextValidatorsHash: a.NextValidatorsHash}
	}
	return b, nil
}

// signTime is the timestamp of every block's canonical proposal. The block's own time is
// inside the digest; a fixed one makes signing a round twice with the same block give the
// same bytes, which privval answers with the same signature instead of a refusal.
var signTime = time.Unix(0, 0).UTC()

// SignBytes are the bytes an author signs for a block: CometBFT's canonical proposal for
// chainID at height = DAG round, round 0, no POL round, block ID = the block's digest (as
// hash and as a one-part part-set header). A privval signer (priv_validator_state.json,
// tmkms, Horcrux) then applies its double-sign watermark to DAG rounds, which only go up,
// across epochs too. The digest covers epoch, author and everything else in the block.
func SignBytes(chainID string, round uint64, digest Digest) []byte {
	p := cmtproto.CanonicalProposal{Type: cmtproto.ProposalType, Height: int64(round), Round: 0, POLRound: -1,
		BlockID: &cmtproto.CanonicalBlockID{Hash: digest[:],
			PartSetHeader: cmtproto.CanonicalPartSetHeader{Total: 1, Hash: digest[:]}},
		Timestamp: signTime, ChainID: chainID}
	bz, err := protoio.MarshalDelimited(&p)
	if err != nil {
		// Marshal of a well-formed in-memory message cannot fail; a failure here is a bug.
		panic(fmt.Sprintf("marshal canonical proposal: %v", err))
	}
	return bz
}

// SignProposal is the proposal whose privval signature is a block's: the signer adapter
// hands it to privval.FilePV.SignProposal, which signs SignBytes(chainID, round, digest).
func SignProposal(round uint64, digest Digest) *cmtproto.Proposal {
	return &cmtproto.Proposal{Type: cmtproto.ProposalType, Height: int64(round), Round: 0, PolRound: -1,
		BlockID:   cmtproto.BlockID{Hash: digest[:], PartSetHeader: cmtproto.PartSetHeader{Total: 1, Hash: digest[:]}},
		Timestamp: signTime}
}

// Sign fills the block's signature through the signer.
func (b *Block) Sign(chainID string, s Signer) error {
	sig, err := s.SignBlock(chainID, b.Round, b.Digest())
	if err != nil {
		return err
	}
	b.Signature = sig
	return nil
}

// ErrBadSignature means a signature does not verify under the author's key.
var ErrBadSignature = errors.New("bad signature")

// VerifySignature checks the block's signature against the committee's key for its author.
func (b *Block) VerifySignature(chainID string, c *Committee, v Verifier) error {
	if b.Author < 0 || b.Author >= c.Size() {
		return fmt.Errorf("author %d not in committee of %d", b.Author, c.Size())
	}
	if !v.Verify(c.Validators[b.Author].PubKey, SignBytes(chainID, b.Round, b.Digest()), b.Signature) {
		return ErrBadSignature
	}
	return nil
}

// Verify checks that the evidence names a committee member and carries two valid
// signatures by it over two different digests.
func (e *Equivocation) Verify(chainID string, c *Committee, v Verifier) error {
	if e.Author < 0 || e.Author >= c.Size() {
		return fmt.Errorf("evidence author %d not in committee", e.Author)
	}
	if string(e.DigestA[:]) >= string(e.DigestB[:]) {
		return errors.New("evidence digests not distinct and ordered")
	}
	pub := c.Validators[e.Author].PubKey
	if !v.Verify(pub, SignBytes(chainID, e.Round, e.DigestA), e.SignatureA) ||
		!v.Verify(pub, SignBytes(chainID, e.Round, e.DigestB), e.SignatureB) {
		return fmt.Errorf("evidence: %w", ErrBadSignature)
	}
	return nil
}

// CopyForDecode returns the block with its cached digest cleared, as a freshly decoded
// block would be; benchmarks and the simulator use it to pay the hashing cost honestly.
func CopyForDecode(b *Block) *Block {
	c := *b
	c.hasDigest = false
	c.digest = Digest{}
	return &c
}
