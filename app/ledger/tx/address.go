package tx

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// AddressSize is the length of an account address: the first 20 bytes of
// sha256(ed25519 public key), as CometBFT and the Cosmos SDK derive them, so a
// validator's key controls the account of its validator address.
const AddressSize = 20

// PubKeySize is the length of an ed25519 public key.
const PubKeySize = 32

// SignatureSize is the length of an ed25519 signature.
const SignatureSize = 64

// Address identifies an account.
type Address [AddressSize]byte

// AddressFromPubKey derives the address controlled by an ed25519 public key.
func AddressFromPubKey(pub []byte) Address {
	sum := sha256.Sum256(pub)
	var a Address
	copy(a[:], sum[:AddressSize])
	return a
}

// AddressFromBytes checks the length of raw address bytes.
func AddressFromBytes(b []byte) (Address, error) {
	var a Address
	if len(b) != AddressSize {
		return a, fmt.Errorf("address must be %d bytes, got %d", AddressSize, len(b))
	}
	copy(a[:], b)
	return a, nil
}

// ParseAddress reads an address written in hex (either case, optional 0x).
func ParseAddress(s string) (Address, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil {
		return Address{}, fmt.Errorf("address %q is not hex: %w", s, err)
	}
	return AddressFromBytes(b)
}

// String is the upper-case hex form CometBFT uses for addresses.
func (a Address) String() string { return strings.ToUpper(hex.EncodeToString(a[:])) }

// Bytes returns the address as a slice.
func (a Address) Bytes() []byte { return a[:] }
