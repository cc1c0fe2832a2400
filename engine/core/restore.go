package core

import (
	"errors"
	"fmt"
	"sort"

	"github.com/tutti-bft/tutti/engine/dag"
	"github.com/tutti-bft/tutti/engine/types"
)

// State is what storage holds for a restart.
type State struct {
	// Blocks are every block the core asked to persist (own ones included), in any order.
	Blocks []*types.Block
	// LastDeliveredHeight is the last ABCI height the runtime stored as delivered; the
	// replay does not deliver those heights again.
	LastDeliveredHeight int64
}

// Restore rebuilds a core from storage. It replays the stored blocks through the same
// validation and ordering as live operation (ordering is deterministic, so it reaches the
// same commits and ABCI blocks), delivers only heights after LastDeliveredHeight, and never
// proposes again at a round it already signed. The actions the replay produced are returned
// so the runtime can deliver heights the app is missing.
func Restore(cfg Config, self int, signer types.Signer, verifier types.Verifier, st State) (*Core, []Action, error) {
	c, err := New(cfg, self, signer, verifier)
	if err != nil {
		return nil, nil, err
	}
	c.suppressThrough = st.LastDeliveredHeight
	blocks := append([]*types.Block(nil), st.Blocks...)
	sort.SliceStable(blocks, func(i, j int) bool {
		if blocks[i].Round != blocks[j].Round {
			return blocks[i].Round < blocks[j].Round
		}
		return blocks[i].Author < blocks[j].Author
	})
	var out []Action
	for _, b := range blocks {
		if b.Author == self && b.Round > c.lastOwnRound {
			c.lastOwnRound = b.Round
		}
		res, err := c.dag.Add(b)
		if err != nil {
			if errors.Is(err, dag.ErrInvalid) {
				return nil, nil, fmt.Errorf("stored block %v is invalid: %w", b.Ref(), err)
			}
			continue // below GC by now: already ordered
		}
		for _, ab := range res.Accepted {
			if ab.Author == self {
				c.markIncluded(ab)
			}
		}
		c.out = nil
		c.tryCommit()
		for _, a := range c.out {
			if _, isPersist := a.(Persist); !isPersist {
				out = append(out, a)
			}
		}
		if c.halted {
			return c, out, nil
		}
	}
	c.out = nil
	return c, out, nil
}

// markIncluded remembers which blocks an own stored block referenced, so the next
// proposal does not reference them again.
func (c *Core) markIncluded(b *types.Block) {
	for _, p := range b.Parents {
		if p.Round > c.included[p.Author] {
			c.included[p.Author] = p.Round
		}
	}
	if b.Round > c.lastOwnRound {
		c.lastOwnRound = b.Round
	}
}
