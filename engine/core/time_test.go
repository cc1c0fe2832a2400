package core_test

import (
	"fmt"
	. "github.com/tutti-bft/tutti/engine/core"
	"strings"
	"testing"
	"time"
)

const year = 365 * 24 * time.Hour

// Up to f validators whose clocks run a year ahead or behind do not move block time: every
// block an honest node delivers is stamped within MaxForwardTimeDrift ahead of its clock,
// and not further behind it than the commit latency, while the chain keeps committing.
// Without holding future-stamped blocks, one clock a year ahead in 4 drags block time a
// year ahead within a few heights (honest blocks take the latest of their parents' times).
func TestBlockTimeBoundedByHonestClocks(t *testing.T) {
	cases := []struct {
		n    int
		skew map[int]time.Duration
	}{
		{4, map[int]time.Duration{3: year}},
		{4, map[int]time.Duration{3: -year}},
		{7, map[int]time.Duration{5: year, 6: year}},
		{7, map[int]time.Duration{5: year, 6: -year}},
	}
	for ci, tc := range cases {
		t.Run(fmt.Sprintf("%d validators, skews %v", tc.n, tc.skew), func(t *testing.T) {
			cl := newCluster(t, tc.n, uint64(40+ci), nil)
			drift := cl.cores[0].Config().MaxForwardTimeDrift
			var ahead, behind time.Duration // the worst seen, against the delivering node's clock
			delivered := 0
			cl.observe = func(i int, a Action) {
				d, ok := a.(DeliverABCIBlock)
				if !ok || tc.skew[i] != 0 {
					return
				}
				delivered++
				off := time.UnixMilli(d.Block.TimeMs).Sub(cl.clock(i))
				ahead, behind = max(ahead, off), max(behind, -off)
				if off > drift {
					t.Fatalf("node %d delivered height %d stamped %v ahead of its clock (drift bound %v)", i, d.Block.Height, off, drift)
				}
				if off < -3*time.Second {
					t.Fatalf("node %d delivered height %d stamped %v behind its clock", i, d.Block.Height, -off)
				}
			}
			for i, s := range tc.skew {
				cl.skew[i] = s
			}
			cl.run0(8 * time.Second)
			held := uint64(0) // a clock behind holds everyone else's blocks; one ahead is held by everyone
			for i := 0; i < cl.n; i++ {
				if tc.skew[i] == 0 {
					cl.checkHonestHeight(i, 15)
				}
				held += cl.cores[i].Stats().HeldBack
			}
			t.Logf("%d deliveries checked; worst: %v ahead, %v behind; %d blocks held back", delivered, ahead, behind, held)
			if held == 0 {
				t.Fatal("no block was held back: the liars' blocks never reached the rule")
			}
		})
	}
}

// checkHonestHeight fails unless node i delivered at least min heights.
func (cl *cluster) checkHonestHeight(i int, min int) {
	cl.t.Helper()
	if len(cl.blocks[i]) < min {
		cl.t.Errorf("node %d delivered %d heights, want at least %d", i, len(cl.blocks[i]), min)
	}
}

// An honest validator whose clock runs ahead of the others by more than the drift is not
// cut off: its blocks wait at each receiver until the receiver's clock comes within the
// drift of them, then count like anyone's (a leader whose blocks come late, like a slow
// one, costs rounds their leader timeout until the schedule demotes it).
func TestBlockAheadOfOurClockIsDelayedNotRejected(t *testing.T) {
	cl := newCluster(t, 4, 44, nil)
	drift := cl.cores[0].Config().MaxForwardTimeDrift
	cl.skew[2] = drift + 300*time.Millisecond
	cl.run0(6 * time.Second)
	cl.checkAgreement(8)
	s := cl.cores[0].Stats()
	if s.HeldBack == 0 {
		t.Fatal("node 0 never held node 2's blocks")
	}
	ordered := 0
	for _, b := range cl.blocks[0] {
		for _, tx := range b.Txs {
			if strings.HasSuffix(string(tx), "-from-2") {
				ordered++
			}
		}
	}
	if ordered == 0 {
		t.Fatal("none of node 2's transactions were ordered: its blocks were rejected, not delayed")
	}
	t.Logf("node 0 held back %d blocks; %d of node 2's transactions ordered", s.HeldBack, ordered)
}
