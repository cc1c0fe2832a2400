package node

import (
	"sync"

	"github.com/tutti-bft/tutti/engine/types"
)

// verifyCache verifies ed25519 signatures and remembers the good ones, so a block checked
// on a peer's reader goroutine (off the event loop) is not checked again when the core
// validates it on the loop. Bounded: it is cleared when full.
type verifyCache struct {
	mu   sync.Mutex
	good map[string]struct{}
}

const verifyCacheSize = 1 << 16

func newVerifyCache() *verifyCache { return &verifyCache{good: map[string]struct{}{}} }

func cacheKey(pubKey, msg, sig []byte) string {
	return string(pubKey) + string(sig) + string(msg)
}

// Verify implements types.Verifier.
func (v *verifyCache) Verify(pubKey, msg, sig []byte) bool {
	key := cacheKey(pubKey, msg, sig)
	v.mu.Lock()
	_, ok := v.good[key]
	v.mu.Unlock()
	if ok {
		return true
	}
	if !(types.Ed25519Verifier{}).Verify(pubKey, msg, sig) {
		return false
	}
	v.mu.Lock()
	if len(v.good) >= verifyCacheSize {
		v.good = map[string]struct{}{}
	}
	v.good[key] = struct{}{}
	v.mu.Unlock()
	return true
}
