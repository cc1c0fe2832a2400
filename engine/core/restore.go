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
	// Results are the stored execution results of delivered heights, any order. The replay
	// needs NextValidators of every height H-1 where block H ended an epoch (the new
	// committee); storage must keep at least those. Restore fails when such a result of a
	// height up to LastDeliveredHeight is missing; for a later height (not executed before
	// the restart) the core waits at that epoch end until the runtime feeds the result.
	Results []ExecutionResult
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
	for _, r := range st.Results {
		if len(r.NextValidators) > 0 {
			c.nextValidators[r.Height] = r.NextValidators
		}
	}
	c.restoring = true
	defer func() { c.restoring = false }()
	blocks := append([]*types.Block(nil), st.Blocks...)
	sort.SliceStable(blocks, func(i, j int) bool {
		if blocks[i].Epoch != blocks[j].Epoch {
			return blocks[i].Epoch < blocks[j].Epoch
		}
		if blocks[i].Round != blocks[j].Round {
			return blocks[i].Round < blocks[j].Round
		}
		return blocks[i].Author < blocks[j].Author
	})
	var out []Action
	for _, b := range blocks {
		c.out = nil
		if err := c.replayStored(b); err != nil {
			return nil, nil, err
		}
		c.tryCommit()
		if ch := c.change; ch != nil && ch.height-1 <= st.LastDeliveredHeight {
			// The app executed that height before the restart: storage should hold its
			// result, and nothing else can tell us the new committee.
			return nil, nil, fmt.Errorf("height %d ended epoch %d but State.Results lacks the result of height %d (its next validator set)",
				ch.height, c.cfg.Epoch.Number, ch.height-1)
		}
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

// replayStored offers one stored block: blocks of a later epoch wait (unbounded while
// restoring) until the replay reaches that epoch; blocks of the current one go through the
// same validation as live, and an invalid one means storage is corrupt.
func (c *Core) replayStored(b *types.Block) error {
	if b.Epoch != c.cfg.Epoch.Number {
		c.otherEpoch(-1, b, false)
		return nil
	}
	if b.Author == c.self && b.Round > c.lastOwnRound {
		c.lastOwnRound = b.Round
	}
	res, err := c.dag.Add(b)
	if err != nil {
		if errors.Is(err, dag.ErrInvalid) {
			return fmt.Errorf("stored block %v is invalid: %w", b.Ref(), err)
		}
		return nil // below GC by now: already ordered
	}
	c.absorb(res, -1)
	return nil
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
