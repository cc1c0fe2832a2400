package order

import (
	"testing"

	"github.com/tutti-bft/tutti/engine/dag"
	"github.com/tutti-bft/tutti/engine/types"
)

func cutCommittee(t *testing.T, powers ...int64) *types.Committee {
	vals := make([]types.Validator, len(powers))
	for i, p := range powers {
		vals[i] = types.Validator{PubKey: []byte{byte(i)}, Power: p}
	}
	c, err := types.NewCommittee(vals)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func commitAt(index uint64, leader int, timeMs int64, txs ...string) Commit {
	c := Commit{Index: index, Leader: &types.Block{Author: leader}, TimeMs: timeMs}
	for _, tx := range txs {
		c.Txs = append(c.Txs, []byte(tx))
		c.TxBytes += len(tx)
	}
	return c
}

// attest is the author's attestation of b with the given app hash and no validator change
// (the set of b.Height+2 is the committee's).
func attest(com *types.Committee, author int, b ABCIBlock, app string) AuthoredAttestation {
	return AuthoredAttestation{Author: author, Attestation: &types.Attestation{ChainID: "c", Height: b.Height,
		BlockHash: b.Hash, AppHash: []byte(app), NextValidatorsHash: com.Hash()}}
}

func TestCutWaitsForAttestationQuorum(t *testing.T) {
	com := cutCommittee(t, 1, 1, 1, 97)
	cut := NewCutter(CutConfig{ChainID: "c", InitialAppHash: []byte("genesis"), MaxEmptyIntervalMs: 1000}, com, 1, 1, 0)
	if got := cut.Add(commitAt(1, 0, 10)); len(got) != 0 {
		t.Fatal("an empty commit must not close a block before the max empty interval")
	}
	first := cut.Add(commitAt(2, 2, 20, "t1"))
	if len(first) != 1 || first[0].Height != 1 || string(first[0].AppHash) != "genesis" || len(first[0].DecidedLastCommit) != 0 {
		t.Fatalf("block 1 closes on content without attestations: %+v", first)
	}
	b1 := first[0]
	if b1.ProposerIndex != 2 || b1.TimeMs != 20 || b1.FirstCommit != 1 || b1.LastCommit != 2 {
		t.Fatalf("block 1 header: %+v", b1)
	}
	// The set of height 2 is the genesis committee (updates take effect at H+2), and
	// FinalizeBlock(1) carries its hash as CometBFT's does.
	if string(b1.NextValidatorsHash) != string(com.Hash()) {
		t.Fatalf("block 1 next validators hash %X, want the genesis committee's %X", b1.NextValidatorsHash, com.Hash())
	}
	// A, B and C (stake 3 of 100) attest: no quorum, so block 2 stays open.
	c3 := commitAt(3, 1, 30, "t2")
	c3.Attestations = []AuthoredAttestation{attest(com, 0, b1, "app1"), attest(com, 1, b1, "app1"), attest(com, 2, b1, "app1")}
	if got := cut.Add(c3); len(got) != 0 {
		t.Fatal("block 2 closed without quorum attestations for block 1")
	}
	// D disagrees on the block hash: ignored.
	c4 := commitAt(4, 3, 40)
	wrong := attest(com, 3, b1, "app1")
	wrong.Attestation.BlockHash = []byte("other")
	c4.Attestations = []AuthoredAttestation{wrong}
	if got := cut.Add(c4); len(got) != 0 {
		t.Fatal("an attestation for another block hash counted")
	}
	c5 := commitAt(5, 3, 50, "t3")
	c5.Attestations = []AuthoredAttestation{attest(com, 3, b1, "app1")}
	got := cut.Add(c5)
	if len(got) != 1 {
		t.Fatal("quorum reached but block 2 not cut")
	}
	b2 := got[0]
	if b2.Height != 2 || string(b2.AppHash) != "app1" || string(b2.LastBlockHash) != string(b1.Hash) ||
		len(b2.Txs) != 2 || b2.FirstCommit != 3 || b2.LastCommit != 5 || b2.ProposerIndex != 3 {
		t.Fatalf("block 2: %+v", b2)
	}
	// Everyone attested the same result, so every validator of block 1 is COMMIT.
	for _, v := range b2.DecidedLastCommit {
		if !v.Signed || v.Power != com.Power(v.ValidatorIndex) {
			t.Fatalf("last commit vote %+v", v)
		}
	}
}

func TestDecidedLastCommitMarksAbsentees(t *testing.T) {
	com := cutCommittee(t, 1, 1, 1, 1)
	cut := NewCutter(CutConfig{ChainID: "c"}, com, 1, 1, 0)
	b1 := cut.Add(commitAt(1, 0, 10, "a"))[0]
	c := commitAt(2, 1, 20, "b")
	c.Attestations = []AuthoredAttestation{attest(com, 0, b1, "x"), attest(com, 2, b1, "x"), attest(com, 3, b1, "x"), attest(com, 1, b1, "fork")}
	b2 := cut.Add(c)[0]
	want := []bool{true, false, true, true}
	for i, v := range b2.DecidedLastCommit {
		if v.Signed != want[i] {
			t.Fatalf("validator %d signed=%v, want %v (B attested another app hash)", i, v.Signed, want[i])
		}
	}
}

func TestMaxBytesCarriesOverflowToNextBlock(t *testing.T) {
	com := cutCommittee(t, 1)
	cut := NewCutter(CutConfig{ChainID: "c", MaxBytes: 4}, com, 1, 1, 0)
	b1 := cut.Add(commitAt(1, 0, 10, "aa", "bb", "cc"))[0]
	if len(b1.Txs) != 2 {
		t.Fatalf("block 1 holds %d txs, want 2 (4 bytes)", len(b1.Txs))
	}
	c := commitAt(2, 0, 20)
	c.Attestations = []AuthoredAttestation{attest(com, 0, b1, "x")}
	b2 := cut.Add(c)[0]
	if len(b2.Txs) != 1 || string(b2.Txs[0]) != "cc" {
		t.Fatalf("block 2 txs %q, want the carried-over cc", b2.Txs)
	}
}

func TestTargetIntervalBatchesCommits(t *testing.T) {
	com := cutCommittee(t, 1)
	cut := NewCutter(CutConfig{ChainID: "c", TargetIntervalMs: 100}, com, 1, 1, 0)
	if len(cut.Add(commitAt(1, 0, 50, "a"))) != 0 {
		t.Fatal("closed before the target interval")
	}
	if b := cut.Add(commitAt(2, 0, 100, "b")); len(b) != 1 || len(b[0].Txs) != 2 {
		t.Fatalf("want one block with both commits' txs, got %+v", b)
	}
}

func TestCommitTimeIsStakeWeightedMedian(t *testing.T) {
	td, err := dag.NewTextDAG([]int64{1, 1, 1, 97})
	if err != nil {
		t.Fatal(err)
	}
	if err := td.Line("round 1: *"); err != nil {
		t.Fatal(err)
	}
	// Round-1 times are 1000 for all; D's round-2 block is late by 5s and carries most
	// stake, so the median of A3's round-2 parents is D2's time.
	for a := 0; a < 3; a++ {
		if _, err := td.AddBlock(a, 2, []*types.Block{td.Block("A1"), td.Block("B1"), td.Block("C1"), td.Block("D1")}, dag.BlockOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	d2 := &types.Block{Epoch: 1, Round: 2, Author: 3, TimeMs: 7000,
		Parents: []types.Ref{td.Block("D1").Ref(), td.Block("A1").Ref(), td.Block("B1").Ref(), td.Block("C1").Ref()}}
	d2.Signature = td.Signers[3].SignAnyway(types.SignBytes(td.ChainID, 2, d2.Digest()))
	if _, err := td.DAG.Add(d2); err != nil {
		t.Fatal(err)
	}
	round2 := td.DAG.RoundBlocks(2)
	leader, err := td.AddBlock(0, 3, round2, dag.BlockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lin := NewLinearizer(LinearizerConfig{GCDepth: 50}, td.DAG)
	if c := lin.Linearize(leader); c.TimeMs != 7000 {
		t.Fatalf("commit time %d, want 7000 (D holds 97%% of the stake)", c.TimeMs)
	}
	// The next leader's parents have the same median: its time is still strictly later.
	next, err := td.AddBlock(1, 3, round2, dag.BlockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := lin.Linearize(next); c.TimeMs != 7001 {
		t.Fatalf("second commit time %d, want 7001", c.TimeMs)
	}
}

func TestWithoutSlotGuardTheTwinIsOrdered(t *testing.T) {
	// The planted bug the simulator's checkers must catch: ordering by block instead of
	// by slot lets D1' (the equivocation in testdata/equivocation.txt) be ordered too.
	for _, guard := range []bool{true, false} {
		td, _ := dag.NewTextDAG([]int64{1, 1, 1, 1})
		for _, l := range []string{"round 1: *", "round 1: D' -> [*]",
			"round 2: A -> [A1 B1 C1 D1], B -> [B1 A1 C1 D1], C -> [C1 A1 B1 D1'], D -> [D1 A1 B1]",
			"round 3: *", "round 4: *", "round 5: *", "round 6: *"} {
			if err := td.Line(l); err != nil {
				t.Fatal(err)
			}
		}
		p := newPipeline(td, LinearizerConfig{GCDepth: 50, NoSlotGuard: !guard})
		twin := td.Block("D1'").Ref()
		orderedTwin := false
		for _, c := range p.commits(t) {
			for _, b := range c.Blocks {
				if b.Ref() == twin {
					orderedTwin = true
				}
			}
		}
		if orderedTwin == guard {
			t.Fatalf("slot guard %v: twin ordered = %v", guard, orderedTwin)
		}
	}
}

// TestAttestedSetChangeEndsTheEpoch: when the quorum attests, for K-1, a next validator set
// other than the committee's (an update at K-1 takes effect at K+1), block K is the epoch's
// last; commits after it are not cut; the successor continues heights, time, hash chain and
// carried transactions, lists the old committee in K+1's DecidedLastCommit (matched by key,
// since the new committee numbers its authors differently) and needs quorum of the new one.
func TestAttestedSetChangeEndsTheEpoch(t *testing.T) {
	com := cutCommittee(t, 1, 1, 1, 1)
	next, err := com.Successor([]types.Validator{{PubKey: []byte{1}, Power: 1}, {PubKey: []byte{2}, Power: 1},
		{PubKey: []byte{3}, Power: 1}, {PubKey: []byte{9}, Power: 1}})
	if err != nil {
		t.Fatal(err)
	}
	cut := NewCutter(CutConfig{ChainID: "c", MaxBytes: 2}, com, 1, 0, 0)
	b1 := cut.Add(commitAt(1, 0, 10, "a"))[0]
	c2 := commitAt(2, 1, 20, "b")
	for a := 0; a < 3; a++ {
		c2.Attestations = append(c2.Attestations, attest(com, a, b1, "x"))
	}
	b2 := cut.Add(c2)[0]
	if b2.EndsEpoch {
		t.Fatal("height 2 ended the epoch though height 1 kept the set")
	}
	// Height 2's execution changed the set of height 4: block 3 ends the epoch.
	c3 := commitAt(3, 2, 30, "cc", "dd")
	for a := 0; a < 4; a++ {
		at := attest(com, a, b2, "y")
		at.Attestation.NextValidatorsHash = next.Hash()
		c3.Attestations = append(c3.Attestations, at)
	}
	b3 := cut.Add(c3)[0]
	if hash, ended := cut.EpochEnd(); !b3.EndsEpoch || !ended || string(hash) != string(next.Hash()) ||
		string(b3.NextValidatorsHash) != string(next.Hash()) {
		t.Fatalf("block 3 must end the epoch with the attested set: %+v", b3)
	}
	if got := cut.Add(commitAt(4, 3, 40, "e")); len(got) != 0 {
		t.Fatal("a commit after the epoch's last block was cut")
	}

	succ := cut.Successor(next, 2, 500)
	if succ.NextHeight() != 4 {
		t.Fatalf("next epoch starts at height %d, want 4", succ.NextHeight())
	}
	c5 := commitAt(5, 0, 50)
	// Authors of the new committee: 0, 1, 2 are old validators 1, 2, 3; 3 is the newcomer.
	for _, a := range []int{0, 1, 3} {
		c5.Attestations = append(c5.Attestations, attest(next, a, b3, "z"))
	}
	got := succ.Add(c5)
	if len(got) != 1 {
		t.Fatal("the first block of the next epoch was not cut on the new committee's quorum")
	}
	b4 := got[0]
	if b4.Epoch != 2 || string(b4.LastBlockHash) != string(b3.Hash) || b4.TimeMs != 50 || len(b4.Txs) != 1 || string(b4.Txs[0]) != "dd" {
		t.Fatalf("block 4 does not continue the chain: %+v", b4)
	}
	want := []bool{false, true, true, false} // old validators 0..3; old 3 did not attest
	if len(b4.DecidedLastCommit) != 4 {
		t.Fatalf("block 4 lists %d validators, want the 4 of height 3", len(b4.DecidedLastCommit))
	}
	for i, v := range b4.DecidedLastCommit {
		if string(v.PubKey) != string(com.Validators[i].PubKey) || v.Signed != want[i] {
			t.Fatalf("vote %d: %+v, want old validator %d signed=%v", i, v, i, want[i])
		}
	}
	if b4.EndsEpoch {
		t.Fatal("block 4 ended the new epoch though its set is the one attested")
	}
}

// TestYoungEpochDefersTheSetChange: with MinEpochRounds, an attested set change ends the
// epoch only at the first block whose last leader is that many rounds above the epoch's
// genesis round; until then blocks are cut as usual by the old committee, each attesting
// the changed set.
func TestYoungEpochDefersTheSetChange(t *testing.T) {
	com := cutCommittee(t, 1, 1, 1, 1)
	next, err := com.Successor([]types.Validator{{PubKey: []byte{0}, Power: 1}, {PubKey: []byte{1}, Power: 1},
		{PubKey: []byte{2}, Power: 1}, {PubKey: []byte{3}, Power: 2}})
	if err != nil {
		t.Fatal(err)
	}
	const start, minRounds = 100, 20
	cut := NewCutter(CutConfig{ChainID: "c", MinEpochRounds: minRounds}, com, 1, start, 0)
	prev := cut.Add(commitAt(1, 0, 10, "a"))[0]
	for i, round := range []uint64{105, 110, 119, 120, 121} {
		cm := commitAt(uint64(i+2), 1, int64(20+10*i), "t")
		cm.Leader.Round = round
		for a := 0; a < 3; a++ {
			at := attest(com, a, prev, "x")
			at.Attestation.NextValidatorsHash = next.Hash() // every height since 1 changed the set
			cm.Attestations = append(cm.Attestations, at)
		}
		got := cut.Add(cm)
		if round > start+minRounds {
			if len(got) != 0 {
				t.Fatalf("round %d: a block was cut after the epoch's last", round)
			}
			continue
		}
		if len(got) != 1 {
			t.Fatalf("round %d: no block cut", round)
		}
		b := got[0]
		if wantEnd := round >= start+minRounds; b.EndsEpoch != wantEnd {
			t.Fatalf("block %d with leader round %d: ends epoch %v, want %v", b.Height, round, b.EndsEpoch, wantEnd)
		}
		prev = b
	}
	if _, ended := cut.EpochEnd(); !ended {
		t.Fatal("the epoch never ended")
	}
}

// An equivocation is dated at the height that ordered its round, as CometBFT dates a
// double sign at the height of the votes: the SDK's evidence module measures its age and
// finds the stake to slash from there, not from the height that reports it.
func TestMisbehaviorIsDatedAtTheInfractionHeight(t *testing.T) {
	com := cutCommittee(t, 1)
	cut := NewCutter(CutConfig{ChainID: "c", InfractionRounds: 6}, com, 1, 1, 0)
	var prev ABCIBlock
	var blocks []ABCIBlock
	for i := uint64(1); i <= 5; i++ { // height i's only commit has a leader at round 2i
		c := commitAt(i, 0, int64(100*i), "tx")
		c.Leader.Epoch, c.Leader.Round = 1, 2*i
		if i > 1 {
			c.Attestations = []AuthoredAttestation{attest(com, 0, prev, "x")}
		}
		if i == 5 {
			c.Evidence = []types.Equivocation{{Epoch: 1, Round: 5}, {Epoch: 1, Round: 9}, {Epoch: 1, Round: 1}}
		}
		got := cut.Add(c)
		if len(got) != 1 {
			t.Fatalf("commit %d closed %d blocks", i, len(got))
		}
		prev = got[0]
		blocks = append(blocks, prev)
	}
	mis := blocks[4].Misbehavior
	if len(mis) != 3 {
		t.Fatalf("height 5 reports %d misbehaviors, want 3", len(mis))
	}
	want := []struct {
		height, timeMs int64
		why            string
	}{
		{3, 300, "round 5 was ordered by height 3 (leader at round 6)"},
		{5, 500, "round 9 was ordered by the reporting height 5 (leader at round 10)"},
		{2, 200, "round 1 is older than the 6 rounds remembered below round 10: the oldest remembered height, 2 (leader at round 4)"},
	}
	for i, w := range want {
		if mis[i].Height != w.height || mis[i].TimeMs != w.timeMs {
			t.Errorf("misbehavior %d dated height %d time %d, want %d %d: %s", i, mis[i].Height, mis[i].TimeMs, w.height, w.timeMs, w.why)
		}
	}
}
