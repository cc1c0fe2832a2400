package sim

import (
	"fmt"

	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/tutti-bft/tutti/engine/types"
)

// signer is a validator key with a double-sign watermark. In the simulator the watermark
// is rebuilt at restart from the own blocks found on disk, so it is exactly as durable as
// the own-block log: persisting an own block before sending it is then the only thing that
// stops a crashed and restarted validator from signing a second block for one round, and a
// planted "send before persist" bug shows up as equivocation by an honest validator.
// (The node additionally keeps privval's state file.)
type signer struct {
	key       ed25519.PrivKey
	watermark uint64
	signed    bool
}

func newSigner(seed []byte) *signer { return &signer{key: ed25519.GenPrivKeyFromSecret(seed)} }

func (s *signer) SignBlock(chainID string, round uint64, digest types.Digest) ([]byte, error) {
	if s.signed && round <= s.watermark {
		return nil, fmt.Errorf("%w: round %d, last signed %d", types.ErrDoubleSign, round, s.watermark)
	}
	sig, err := s.key.Sign(types.SignBytes(chainID, round, digest))
	if err != nil {
		return nil, err
	}
	s.watermark, s.signed = round, true
	return sig, nil
}

func (s *signer) PubKey() []byte { return s.key.PubKey().Bytes() }

// signAnyway signs without the watermark: byzantine validators use it to equivocate.
func (s *signer) signAnyway(signBytes []byte) []byte {
	sig, err := s.key.Sign(signBytes)
	if err != nil {
		panic(err) // ed25519 signing cannot fail
	}
	return sig
}

// restore sets the watermark from the own blocks a restarted node found on disk.
func (s *signer) restore(blocks []*types.Block, author int) {
	s.watermark, s.signed = 0, false
	for _, b := range blocks {
		if b.Author == author && (!s.signed || b.Round > s.watermark) {
			s.watermark, s.signed = b.Round, true
		}
	}
}
