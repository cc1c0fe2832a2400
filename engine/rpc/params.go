package rpc

import (
	"fmt"
	"sort"
	"sync"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/store"
)

// paramsTracker answers "the consensus parameters of height h": genesis's, updated by
// every ConsensusParamUpdates the app returned from FinalizeBlock below h (an update
// returned at h applies from h+1, as in CometBFT). It remembers the heights where the
// parameters changed and how far it has read, so each stored response is read once over
// the node's life instead of folding from the start at every request.
type paramsTracker struct {
	store   *store.Store
	genesis cmttypes.ConsensusParams

	mu      sync.Mutex
	scanned int64         // responses of heights <= scanned are folded in
	changes []paramChange // ascending by from
}

type paramChange struct {
	from   int64 // first height these parameters apply to
	params cmttypes.ConsensusParams
}

func newParamsTracker(s *store.Store, genesis *cmttypes.ConsensusParams) *paramsTracker {
	g := cmttypes.DefaultConsensusParams()
	if genesis != nil {
		g = genesis
	}
	return &paramsTracker{store: s, genesis: *g}
}

// at returns the parameters of height h, which must be stored or the next one.
func (t *paramsTracker) at(h int64) (cmttypes.ConsensusParams, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.extend(h - 1); err != nil {
		return cmttypes.ConsensusParams{}, err
	}
	i := sort.Search(len(t.changes), func(i int) bool { return t.changes[i].from > h })
	if i == 0 {
		return t.genesis, nil
	}
	return t.changes[i-1].params, nil
}

// extend folds the responses up to height upTo. Heights pruned by the app's retain height
// are gone with their responses; the fold starts at the lowest stored height (README).
func (t *paramsTracker) extend(upTo int64) error {
	if t.scanned == 0 {
		t.scanned = max(t.store.Base(), 1) - 1
	}
	for h := t.scanned + 1; h <= upTo; h++ {
		resp, err := t.store.Response(h)
		if err != nil {
			return fmt.Errorf("consensus parameters at height %d: %w", h+1, err)
		}
		if u := resp.ConsensusParamUpdates; u != nil {
			cur := t.genesis
			if n := len(t.changes); n > 0 {
				cur = t.changes[n-1].params
			}
			t.changes = append(t.changes, paramChange{from: h + 1, params: cur.Update(u)})
		}
		t.scanned = h
	}
	return nil
}
