package core

import (
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/types"
)

// TestRejectedProposalsAreNotSupported: the other validators reject every block of the
// "rejected" validators (as an app's ProcessProposal would). Their blocks leave those out of
// their parents except when the rest would not hold quorum stake (with two of four
// rejected, always), and the chain still agrees and progresses: a verdict changes votes,
// never the ordering rules.
func TestRejectedProposalsAreNotSupported(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rejected map[int]bool
	}{{"one of four", map[int]bool{3: true}}, {"two of four", map[int]bool{2: true, 3: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			withheld, fallback, proposed := runRejecting(t, tc.rejected)
			if len(tc.rejected) == 1 && withheld < proposed/2 {
				t.Fatalf("only %d of %d blocks left the rejected blocks out", withheld, proposed)
			}
			if len(tc.rejected) == 2 && fallback == 0 {
				t.Fatalf("no block referenced a rejected block for quorum (%d withheld of %d)", withheld, proposed)
			}
			t.Logf("%d of %d blocks withheld support, %d referenced a rejected block for quorum", withheld, proposed, fallback)
		})
	}
}

func runRejecting(t *testing.T, rejected map[int]bool) (withheld, fallback, proposed int) {
	cl := newCluster(t, 4, 11, nil)
	committee := cl.cores[0].cfg.Epoch.Committee
	seen := map[types.Ref]bool{}
	cl.observe = func(node int, a Action) {
		b, ok := a.(Broadcast)
		if !ok {
			return
		}
		if rejected[node] {
			for j := 0; j < cl.n; j++ {
				if !rejected[j] {
					cl.step(j, ProposalRejected{Ref: b.Block.Ref()})
				}
			}
			return
		}
		if seen[b.Block.Ref()] {
			return // a resync sends the block again; its parents were checked when proposed
		}
		seen[b.Block.Ref()] = true
		proposed++
		var stake int64
		refsRejected, refsOthers := false, false
		for _, p := range b.Block.Parents {
			if p.Round != b.Block.Round-1 || p.Round == cl.cores[node].cfg.Epoch.StartRound {
				continue // the epoch's genesis blocks are implicit: nobody broadcasts them
			}
			if _, rej := cl.cores[node].rejectedRefs[p]; rej {
				refsRejected = true
				continue
			}
			refsOthers = refsOthers || rejected[p.Author]
			stake += committee.Power(p.Author)
		}
		switch {
		case refsOthers:
			t.Fatalf("block %d/%d references a rejected block the core forgot", b.Block.Round, node)
		case refsRejected && committee.IsQuorum(stake):
			t.Fatalf("block %d/%d references a rejected block it did not need for quorum", b.Block.Round, node)
		case refsRejected:
			fallback++
		default:
			withheld++
		}
	}
	cl.run0(3 * time.Second)
	cl.checkAgreement(10)
	if s := cl.cores[0].Stats(); s.Skipped == 0 {
		t.Errorf("the rejected validators' leader slots were never skipped: %+v", s)
	}
	return withheld, fallback, proposed
}

// TestRejectionOfUnknownOrOldBlockIsHarmless: a verdict for a block the core never saw, or
// one below the GC round, is remembered at most until GC and changes nothing else.
func TestRejectionOfUnknownOrOldBlockIsHarmless(t *testing.T) {
	cl := newCluster(t, 4, 12, nil)
	cl.step(0, ProposalRejected{Ref: types.Ref{Author: 2, Round: 0}})
	cl.step(0, ProposalRejected{Ref: types.Ref{Author: 0, Round: 5}}) // our own: ignored
	cl.run0(2 * time.Second)
	cl.checkAgreement(5)
	if n := len(cl.cores[0].rejectedRefs); n != 0 {
		t.Fatalf("%d stale verdicts kept", n)
	}
}
