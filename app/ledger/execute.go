package ledger

import (
	"sort"
	"sync"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// execution is the outcome of running a block's transfers.
type execution struct {
	changes *state.Overlay
	fees    uint64
}

// executeSequential is the definition of a block's meaning: transfers in
// block order, each against the state left by the ones before it.
func executeSequential(base state.Reader, txs []decodedTx) (execution, error) {
	ov := state.NewOverlay(base)
	var fees uint64
	for i := range txs {
		if txs[i].err != nil {
			continue
		}
		fee, txErr, err := state.ApplyTransfer(ov, txs[i].tx)
		if err != nil {
			return execution{}, err
		}
		txs[i].err = txErr
		fees += fee
	}
	return execution{changes: ov, fees: fees}, nil
}

// executeParallel gives the same result as executeSequential. Transfers are
// grouped into connected components of the graph whose edges join a sender
// and its recipient: two transfers in different components never read or
// write a common account, so each component runs in block order on its own
// goroutine and overlay, and the overlays merge without conflict. Fees are
// summed and credited by the caller after the block, so they create no edges.
// Fees cannot overflow: they are bounded by the total supply, a uint64.
func executeParallel(base state.Reader, txs []decodedTx, workers int) (execution, error) {
	components := groupByAccounts(txs)
	if workers > len(components) {
		workers = len(components)
	}
	if workers <= 1 {
		return executeSequential(base, txs)
	}
	// Largest components first, each to the least loaded worker.
	sort.SliceStable(components, func(i, j int) bool { return len(components[i]) > len(components[j]) })
	shares := make([][][]int, workers)
	load := make([]int, workers)
	for _, c := range components {
		w := 0
		for k := 1; k < workers; k++ {
			if load[k] < load[w] {
				w = k
			}
		}
		shares[w] = append(shares[w], c)
		load[w] += len(c)
	}
	overlays := make([]*state.Overlay, workers)
	fees := make([]uint64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range shares {
		overlays[w] = state.NewOverlay(base)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, c := range shares[w] {
				for _, i := range c {
					fee, txErr, err := state.ApplyTransfer(overlays[w], txs[i].tx)
					if err != nil {
						errs[w] = err
						return
					}
					txs[i].err = txErr
					fees[w] += fee
				}
			}
		}()
	}
	wg.Wait()
	out := execution{changes: state.NewOverlay(base)}
	for w := range overlays {
		if errs[w] != nil {
			return execution{}, errs[w]
		}
		out.changes.Merge(overlays[w])
		out.fees += fees[w]
	}
	return out, nil
}

// groupByAccounts returns the indices of the still-valid transactions, split
// into components (union-find over accounts), each in block order.
func groupByAccounts(txs []decodedTx) [][]int {
	parent := make(map[tx.Address]tx.Address)
	var find func(tx.Address) tx.Address
	find = func(a tx.Address) tx.Address {
		p, ok := parent[a]
		if !ok {
			parent[a] = a
			return a
		}
		if p == a {
			return a
		}
		root := find(p)
		parent[a] = root
		return root
	}
	for i := range txs {
		if txs[i].err != nil {
			continue
		}
		s, r := find(txs[i].tx.Sender()), find(txs[i].tx.Recipient())
		if s != r {
			parent[s] = r
		}
	}
	index := make(map[tx.Address]int)
	var components [][]int
	for i := range txs {
		if txs[i].err != nil {
			continue
		}
		root := find(txs[i].tx.Sender())
		c, ok := index[root]
		if !ok {
			c = len(components)
			index[root] = c
			components = append(components, nil)
		}
		components[c] = append(components[c], i)
	}
	return components
}
