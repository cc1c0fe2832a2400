package core

import (
	"sort"

	"github.com/tutti-bft/tutti/engine/types"
)

// SyncRequested: a peer far behind asks for the blocks of Epoch above the rounds it holds
// (Highest[a] for author a), oldest first, from round From.
type SyncRequested struct {
	From    int
	Epoch   uint64
	Highest []uint64
}

// ServeStored: answer a peer from storage what memory no longer holds (blocks below our GC
// round, or of an epoch we left). Refs, when set, names the blocks wanted; otherwise the
// range rule of Wants applies: blocks of Epoch from round FromRound up, each above the
// peer's highest round of its author, in ascending (round, author) order. The answer is one
// fetch response of at most MaxBlocks blocks and MaxPayloadBytes of transactions (at least
// one block), or nothing if storage has none.
type ServeStored struct {
	Peer            int
	Epoch           uint64
	Refs            []types.Ref
	FromRound       uint64
	Highest         []uint64
	MaxBlocks       int
	MaxPayloadBytes int
}

// Wants reports whether a stored block belongs in a range answer.
func (s ServeStored) Wants(b *types.Block) bool {
	if b.Epoch != s.Epoch || b.Round < s.FromRound {
		return false
	}
	return b.Author >= len(s.Highest) || b.Round > s.Highest[b.Author]
}

// Fits reports whether one more block of payloadBytes fits an answer that holds count
// blocks of bytes so far.
func (s ServeStored) Fits(count, bytes, payloadBytes int) bool {
	return count == 0 || count < s.MaxBlocks && bytes+payloadBytes <= s.MaxPayloadBytes
}

// Select picks the answer from candidate stored blocks, for a runtime whose storage is
// not ordered (the simulator's): the wanted ones, oldest first, within the limits.
func (s ServeStored) Select(candidates []*types.Block) []*types.Block {
	var picked []*types.Block
	if len(s.Refs) > 0 {
		want := make(map[types.Ref]bool, len(s.Refs))
		for _, r := range s.Refs {
			want[r] = true
		}
		for _, b := range candidates {
			if b.Epoch <= s.Epoch && want[b.Ref()] {
				picked = append(picked, b)
				delete(want, b.Ref())
			}
		}
	} else {
		for _, b := range candidates {
			if s.Wants(b) {
				picked = append(picked, b)
			}
		}
	}
	sort.Slice(picked, func(i, j int) bool {
		a, b := picked[i], picked[j]
		if a.Round != b.Round {
			return a.Round < b.Round
		}
		if a.Author != b.Author {
			return a.Author < b.Author
		}
		da, db := a.Digest(), b.Digest()
		return string(da[:]) < string(db[:])
	})
	var out []*types.Block
	bytes := 0
	for _, b := range picked {
		if !s.Fits(len(out), bytes, b.PayloadBytes()) {
			break
		}
		out = append(out, b)
		bytes += b.PayloadBytes()
	}
	return out
}

func (SyncRequested) isInput() {}
func (ServeStored) isAction()  {}
