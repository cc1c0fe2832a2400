package sim

import (
	"crypto/sha256"

	"github.com/tutti-bft/tutti/engine/types"
)

// sharedVerifier remembers every signature check of a run. Every instance verifies every
// block it receives, so without it a run spends most of its time re-checking the same
// signatures; a check is a pure function of its inputs, so sharing the answer changes
// nothing an instance decides.
type sharedVerifier struct {
	inner types.Verifier
	seen  map[[32]byte]bool
}

func newSharedVerifier() *sharedVerifier {
	return &sharedVerifier{inner: types.Ed25519Verifier{}, seen: map[[32]byte]bool{}}
}

func (v *sharedVerifier) Verify(pubKey, msg, sig []byte) bool {
	h := sha256.New()
	for _, part := range [][]byte{pubKey, msg, sig} {
		h.Write([]byte{byte(len(part) >> 8), byte(len(part))})
		h.Write(part)
	}
	var key [32]byte
	h.Sum(key[:0])
	if ok, done := v.seen[key]; done {
		return ok
	}
	ok := v.inner.Verify(pubKey, msg, sig)
	v.seen[key] = ok
	return ok
}
