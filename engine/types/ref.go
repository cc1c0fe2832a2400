package types

import (
	"encoding/hex"
	"fmt"
)

// DigestSize is the length of a block digest (sha256).
const DigestSize = 32

// Digest identifies a block's unsigned content.
type Digest [DigestSize]byte

// String shows the first bytes, enough to tell blocks apart in logs and test output.
func (d Digest) String() string { return hex.EncodeToString(d[:4]) }

// Slot is one (round, author) position in the DAG. An honest author fills each slot at
// most once; two blocks in one slot are an equivocation.
type Slot struct {
	Round  uint64
	Author int
}

func (s Slot) String() string { return fmt.Sprintf("%d@r%d", s.Author, s.Round) }

// Ref names one block: its slot and its digest.
type Ref struct {
	Author int
	Round  uint64
	Digest Digest
}

// Slot returns the slot the referenced block occupies.
func (r Ref) Slot() Slot { return Slot{Round: r.Round, Author: r.Author} }

func (r Ref) String() string { return fmt.Sprintf("%d@r%d#%s", r.Author, r.Round, r.Digest) }

func (r Ref) toProto() RefProto {
	return RefProto{Author: uint32(r.Author), Round: r.Round, Digest: append([]byte(nil), r.Digest[:]...)}
}

// RefFromProto converts a decoded reference, rejecting a malformed digest.
func RefFromProto(p RefProto) (Ref, error) {
	if len(p.Digest) != DigestSize {
		return Ref{}, fmt.Errorf("ref digest has %d bytes, want %d", len(p.Digest), DigestSize)
	}
	if p.Author > MaxValidators {
		return Ref{}, fmt.Errorf("ref author %d exceeds %d", p.Author, MaxValidators)
	}
	r := Ref{Author: int(p.Author), Round: p.Round}
	copy(r.Digest[:], p.Digest)
	return r, nil
}

// RefToProto converts a reference for the wire.
func RefToProto(r Ref) RefProto { return r.toProto() }
