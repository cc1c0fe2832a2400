package dag

import (
	"errors"
	"fmt"

	"github.com/tutti-bft/tutti/engine/types"
)

// ErrInvalid wraps every reason a block is rejected for good.
var ErrInvalid = errors.New("invalid block")

// ErrNotNow wraps reasons a block is dropped for now but may be acceptable later or from
// someone else (too far ahead of us, below the GC round).
var ErrNotNow = errors.New("block not accepted now")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// checkStateless applies every rule that needs no other block: shape and limits, epoch,
// author, parent structure and quorum, evidence and signature. Cheap checks run first and
// the signature last.
func (d *DAG) checkStateless(b *types.Block) error {
	c := d.committee
	if b.Epoch != d.epoch.Number {
		return invalid("epoch %d, want %d", b.Epoch, d.epoch.Number)
	}
	if b.Author < 0 || b.Author >= c.Size() {
		return invalid("author %d not in committee of %d", b.Author, c.Size())
	}
	if b.Round <= d.epoch.StartRound {
		return invalid("round %d not above the epoch's genesis round %d", b.Round, d.epoch.StartRound)
	}
	if err := d.cfg.Limits.CheckShape(b); err != nil {
		return invalid("%v", err)
	}
	if len(b.Parents) == 0 {
		return invalid("no parents")
	}
	if own := b.Parents[0]; own.Author != b.Author {
		return invalid("first parent is by %d, want the author's own previous block", own.Author)
	}
	seen := make(map[types.Slot]struct{}, len(b.Parents))
	prev := c.NewTally()
	for _, p := range b.Parents {
		if p.Author < 0 || p.Author >= c.Size() {
			return invalid("parent author %d not in committee", p.Author)
		}
		if p.Round >= b.Round || p.Round < d.epoch.StartRound {
			return invalid("parent round %d outside [%d, %d)", p.Round, d.epoch.StartRound, b.Round)
		}
		if _, dup := seen[p.Slot()]; dup {
			return invalid("two parents in slot %v", p.Slot())
		}
		seen[p.Slot()] = struct{}{}
		if p.Round == b.Round-1 {
			prev.Add(p.Author)
		}
	}
	if !c.IsQuorum(prev.Stake()) {
		return invalid("parents from round %d hold stake %d, quorum is %d", b.Round-1, prev.Stake(), c.QuorumThreshold())
	}
	for i := range b.Evidence {
		e := &b.Evidence[i]
		if e.Epoch != d.epoch.Number {
			return invalid("evidence %d for epoch %d", i, e.Epoch)
		}
		if err := e.Verify(d.cfg.ChainID, c, d.cfg.Verifier); err != nil {
			return invalid("evidence %d: %v", i, err)
		}
	}
	if a := b.Attestation; a != nil && a.ChainID != d.cfg.ChainID {
		return invalid("attestation for chain %q", a.ChainID)
	}
	if err := b.VerifySignature(d.cfg.ChainID, c, d.cfg.Verifier); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// checkTime applies the one rule that needs the parents themselves: a block is not older
// than any parent we hold (evicted parents no longer matter).
func (d *DAG) checkTime(b *types.Block) error {
	for _, p := range b.Parents {
		if pb, ok := d.blocks[p]; ok && b.TimeMs < pb.TimeMs {
			return invalid("time %d before parent %v time %d", b.TimeMs, p, pb.TimeMs)
		}
	}
	return nil
}
