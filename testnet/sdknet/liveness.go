package sdknet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"
)

// signingInfo is one entry of `simd q slashing signing-infos`. The CLI writes protobuf
// JSON, which leaves out fields at their zero value: a missed_blocks_counter of 0 is
// absent. Unknown fields are refused, so a renamed counter cannot read as 0.
type signingInfo struct {
	Address             string `json:"address"`
	StartHeight         int64s `json:"start_height"`
	IndexOffset         int64s `json:"index_offset"`
	JailedUntil         string `json:"jailed_until"`
	Tombstoned          bool   `json:"tombstoned"`
	MissedBlocksCounter int64s `json:"missed_blocks_counter"`
}

func (c *chain) signingInfos(ctx context.Context, i int) ([]signingInfo, error) {
	b, err := c.simdCmd(ctx, "q", "slashing", "signing-infos", "--node", c.nodeFlag(i), "-o", "json")
	if err != nil {
		return nil, err
	}
	var r struct {
		Info       []signingInfo   `json:"info"`
		Pagination json.RawMessage `json:"pagination"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return nil, fmt.Errorf("q slashing signing-infos: %v: %.500s", err, b)
	}
	return r.Info, nil
}

// livenessSample is what the signing infos said when the chain was at least at height.
type livenessSample struct {
	height int64
	missed map[string]int64 // consensus address -> missed_blocks_counter
}

// livenessMonitor samples x/slashing's signing infos every couple of seconds. A missed
// block stays in missed_blocks_counter for the signed-blocks window (100 heights by
// default), so samples less than a window apart see every miss there was.
type livenessMonitor struct {
	c    *chain
	quit chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples []livenessSample
	errs    []error
}

func startLivenessMonitor(c *chain, node int) *livenessMonitor {
	m := &livenessMonitor{c: c, quit: make(chan struct{}), done: make(chan struct{})}
	go m.run(node)
	return m
}

func (m *livenessMonitor) run(node int) {
	defer close(m.done)
	for {
		m.sample(node)
		select {
		case <-m.quit:
			return
		case <-time.After(2 * time.Second):
		}
	}
}

func (m *livenessMonitor) sample(node int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := rpcHeight(ctx, m.c.rpc(node))
	var infos []signingInfo
	if err == nil {
		infos, err = m.c.signingInfos(ctx, node)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.errs = append(m.errs, err)
		return
	}
	s := livenessSample{height: h, missed: map[string]int64{}}
	for _, in := range infos {
		s.missed[in.Address] = int64(in.MissedBlocksCounter)
	}
	m.samples = append(m.samples, s)
}

func (m *livenessMonitor) stop() {
	select {
	case <-m.quit:
	default:
		close(m.quit)
	}
	<-m.done
}

// report checks that the samples cover every height from the first to upTo (each less
// than window after the one before, the first within a window of genesis) and returns the
// highest counter each validator showed, the number of samples, and the heights covered.
func (m *livenessMonitor) report(window, upTo int64) (maxMissed map[string]int64, samples int, err error) {
	m.mu.Lock()
	s := append([]livenessSample(nil), m.samples...)
	nErrs := len(m.errs)
	m.mu.Unlock()
	sort.Slice(s, func(i, j int) bool { return s[i].height < s[j].height })
	if len(s) == 0 {
		return nil, 0, fmt.Errorf("no signing-infos sample (%d queries failed)", nErrs)
	}
	if s[0].height >= window {
		return nil, 0, fmt.Errorf("the first sample was at height %d, a window (%d) after genesis", s[0].height, window)
	}
	maxMissed = map[string]int64{}
	for i, x := range s {
		if i > 0 && x.height-s[i-1].height >= window {
			return nil, 0, fmt.Errorf("samples at heights %d and %d are a window (%d) or more apart", s[i-1].height, x.height, window)
		}
		for a, n := range x.missed {
			maxMissed[a] = max(maxMissed[a], n)
		}
	}
	if last := s[len(s)-1].height; last < upTo {
		return nil, 0, fmt.Errorf("the last sample was at height %d, below %d", last, upTo)
	}
	return maxMissed, len(s), nil
}
