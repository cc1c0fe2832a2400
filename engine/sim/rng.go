package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// stream returns the random stream for one purpose of one seed. Each purpose has its own
// stream so that, for example, drawing one more fault does not shift every network delay
// after it: a seed's runs stay comparable while the simulator evolves.
func stream(seed uint64, purpose string) *rand.Rand {
	h := sha256.Sum256(append(binary.BigEndian.AppendUint64(nil, seed), purpose...))
	return rand.New(rand.NewPCG(binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:16])))
}

// expDuration draws from an exponential distribution with the given mean, capped at ten
// means so one draw cannot stall a run.
func expMillis(r *rand.Rand, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	return math.Min(r.ExpFloat64()*mean, 10*mean)
}

// chance reports true with probability p.
func chance(r *rand.Rand, p float64) bool { return p > 0 && r.Float64() < p }
