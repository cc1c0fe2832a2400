package types

import (
	"errors"
	"fmt"

	"github.com/cometbft/cometbft/crypto/ed25519"
)

// Signer signs this validator's blocks: SignBytes(chainID, round, digest), which is
// CometBFT's canonical proposal at height = round, so that a privval signer (a file, or a
// remote signer such as tmkms) applies its double-sign watermark to DAG rounds.
type Signer interface {
	SignBlock(chainID string, round uint64, digest Digest) ([]byte, error)
	PubKey() []byte
}

// Verifier checks a signature by a public key.
type Verifier interface {
	Verify(pubKey, msg, sig []byte) bool
}

// Ed25519Verifier verifies ed25519 signatures with CometBFT's implementation.
type Ed25519Verifier struct{}

// Verify implements Verifier.
func (Ed25519Verifier) Verify(pubKey, msg, sig []byte) bool {
	if len(pubKey) != ed25519.PubKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.PubKey(pubKey).VerifySignature(msg, sig)
}

// CheckValidatorKey says why a public key cannot be a validator's, or nil: validators sign
// with ed25519 (as CometBFT's default validator.pub_key_types allows), so a key of another
// type, or of the wrong length, would name a validator whose blocks nobody can verify.
// keyType is CometBFT's name for it (crypto.PubKey.Type()).
func CheckValidatorKey(keyType string, key []byte) error {
	if keyType != ed25519.KeyType {
		return fmt.Errorf("a %s key: validators sign with %s keys only", keyType, ed25519.KeyType)
	}
	if len(key) != ed25519.PubKeySize {
		return fmt.Errorf("an %s key of %d bytes, want %d", ed25519.KeyType, len(key), ed25519.PubKeySize)
	}
	return nil
}

// ErrDoubleSign is returned when asked to sign a round at or below one already signed.
var ErrDoubleSign = errors.New("refusing to sign: round already signed")

// MemSigner is an in-memory ed25519 signer for tests and the simulator. Like a privval
// signer it keeps a watermark and refuses any round not above the last one it signed.
type MemSigner struct {
	key        ed25519.PrivKey
	lastRound  uint64
	signedOnce bool
}

// NewMemSigner derives a key deterministically from the seed.
func NewMemSigner(seed []byte) *MemSigner {
	return &MemSigner{key: ed25519.GenPrivKeyFromSecret(seed)}
}

// SignBlock implements Signer.
func (s *MemSigner) SignBlock(chainID string, round uint64, digest Digest) ([]byte, error) {
	if s.signedOnce && round <= s.lastRound {
		return nil, fmt.Errorf("%w: round %d, last signed %d", ErrDoubleSign, round, s.lastRound)
	}
	sig, err := s.key.Sign(SignBytes(chainID, round, digest))
	if err != nil {
		return nil, err
	}
	s.lastRound, s.signedOnce = round, true
	return sig, nil
}

// SignAnyway signs without the watermark; tests use it to forge equivocations.
func (s *MemSigner) SignAnyway(signBytes []byte) []byte {
	sig, err := s.key.Sign(signBytes)
	if err != nil {
		panic(err)
	}
	return sig
}

// PubKey implements Signer.
func (s *MemSigner) PubKey() []byte { return s.key.PubKey().Bytes() }
