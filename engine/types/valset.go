package types

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/bits"
	"sort"

	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
)

// addressSize is CometBFT's validator address length: the first 20 bytes of sha256(pubkey).
const addressSize = 20

func address(pubKey []byte) []byte {
	h := sha256.Sum256(pubKey)
	return h[:addressSize]
}

// ValidatorSetHash is CometBFT's ValidatorSet.Hash of these validators (ed25519 keys):
// the merkle root of each validator's SimpleValidator bytes, in CometBFT's order (power
// descending, then address ascending). It is what FinalizeBlock's NextValidatorsHash and
// our attestations carry, so the core can tell a committee from the hash a quorum attested.
func ValidatorSetHash(vals []Validator) []byte {
	sorted := append([]Validator(nil), vals...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Power != sorted[j].Power {
			return sorted[i].Power > sorted[j].Power
		}
		return bytes.Compare(address(sorted[i].PubKey), address(sorted[j].PubKey)) < 0
	})
	items := make([][]byte, len(sorted))
	for i, v := range sorted {
		pk := cmtcrypto.PublicKey{Sum: &cmtcrypto.PublicKey_Ed25519{Ed25519: v.PubKey}}
		bz, err := (&cmtproto.SimpleValidator{PubKey: &pk, VotingPower: v.Power}).Marshal()
		if err != nil {
			// Marshal of a well-formed in-memory message cannot fail; a failure here is a bug.
			panic(fmt.Sprintf("marshal validator: %v", err))
		}
		items[i] = bz
	}
	return merkleRoot(items)
}

// merkleRoot is CometBFT's simple merkle tree (RFC 6962 prefixes: 0 for a leaf, 1 for an
// inner node; split at the largest power of two below the length). CometBFT's own package
// reaches net/url, which the protocol core must not depend on.
func merkleRoot(items [][]byte) []byte {
	switch len(items) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		h := sha256.Sum256(append([]byte{0}, items[0]...))
		return h[:]
	}
	k := 1 << (bits.Len(uint(len(items))) - 1)
	if k == len(items) {
		k >>= 1
	}
	left, right := merkleRoot(items[:k]), merkleRoot(items[k:])
	h := sha256.Sum256(append(append([]byte{1}, left...), right...))
	return h[:]
}

// Hash is the committee's validator-set hash in CometBFT's form, computed once.
func (c *Committee) Hash() []byte {
	if c.hash == nil {
		c.hash = ValidatorSetHash(c.Validators)
	}
	return c.hash
}

// IndexOf returns the author index of the validator with this public key, or -1.
func (c *Committee) IndexOf(pubKey []byte) int {
	for i, v := range c.Validators {
		if bytes.Equal(v.PubKey, pubKey) {
			return i
		}
	}
	return -1
}

// Successor builds the committee of the next epoch from its full validator set. Members
// that stay keep their relative order (so author indices, and a runtime's peer numbering,
// survive power changes); newcomers follow, sorted by public key. Every node derives the
// same committee from the same set, whatever order the set came in.
func (c *Committee) Successor(set []Validator) (*Committee, error) {
	power := make(map[string]int64, len(set))
	for _, v := range set {
		if _, dup := power[string(v.PubKey)]; dup {
			return nil, fmt.Errorf("validator %X listed twice", v.PubKey)
		}
		power[string(v.PubKey)] = v.Power
	}
	out := make([]Validator, 0, len(set))
	for _, v := range c.Validators {
		if p, ok := power[string(v.PubKey)]; ok {
			out = append(out, Validator{PubKey: v.PubKey, Power: p})
			delete(power, string(v.PubKey))
		}
	}
	var newcomers []Validator
	for _, v := range set {
		if _, ok := power[string(v.PubKey)]; ok {
			newcomers = append(newcomers, v)
		}
	}
	sort.Slice(newcomers, func(i, j int) bool { return bytes.Compare(newcomers[i].PubKey, newcomers[j].PubKey) < 0 })
	return NewCommittee(append(out, newcomers...))
}
