package check

import (
	"strings"
	"testing"
)

func block(h int64, hash, app string, txs ...string) Block {
	b := Block{Height: h, Hash: []byte(hash), AppHash: []byte(app)}
	for _, tx := range txs {
		b.Txs = append(b.Txs, []byte(tx))
	}
	return b
}

func logOf(t *testing.T, name string, blocks ...Block) *NodeLog {
	t.Helper()
	l := &NodeLog{Node: name}
	for _, b := range blocks {
		if v := l.Append(b); v != nil {
			t.Fatalf("append: %v", v)
		}
	}
	return l
}

func TestAppendCatchesRollbackGapsAndDuplicateTxs(t *testing.T) {
	l := logOf(t, "n0", block(1, "a", "x", "t1"), block(2, "b", "y", "t2"))
	if v := l.Append(block(2, "b", "y", "t2")); v != nil {
		t.Fatalf("re-executing the same height after a restart is fine: %v", v)
	}
	cases := []struct {
		b    Block
		prop string
	}{
		{block(2, "other", "y"), "S3"},
		{block(2, "b", "other"), "S3"},
		{block(4, "d", "w"), "S3"},
		{block(3, "c", "z", "t1"), "S2"},
	}
	for _, tc := range cases {
		if v := l.Append(tc.b); v == nil || v.Property != tc.prop {
			t.Errorf("height %d: got %v, want %s", tc.b.Height, v, tc.prop)
		}
	}
}

func TestAgreementFindsTheFirstFork(t *testing.T) {
	a := logOf(t, "a", block(1, "h1", "x"), block(2, "h2", "y"), block(3, "h3", "z"))
	b := logOf(t, "b", block(1, "h1", "x"), block(2, "h2", "y"))
	if v := Agreement([]*NodeLog{a, b}); len(v) != 0 {
		t.Fatalf("a prefix is agreement: %v", v)
	}
	c := logOf(t, "c", block(1, "h1", "x"), block(2, "fork", "y"))
	v := Agreement([]*NodeLog{a, b, c})
	if len(v) != 1 || v[0].Property != "S1" || !strings.Contains(v[0].Detail, "height 2") {
		t.Fatalf("got %v", v)
	}
	d := logOf(t, "d", block(1, "h1", "diverged"))
	if v := Agreement([]*NodeLog{a, d}); len(v) != 1 || v[0].Property != "S5" {
		t.Fatalf("got %v", v)
	}
}

func TestDurabilityExcusesOnlyWhatCrashed(t *testing.T) {
	l := logOf(t, "a", block(1, "h1", "x", "t1"))
	if v := Durability([]*NodeLog{l}, []string{"t1", "t2"}, map[string]bool{"t2": true}); len(v) != 0 {
		t.Fatalf("got %v", v)
	}
	if v := Durability([]*NodeLog{l}, []string{"t1", "t2", "t3"}, nil); len(v) != 1 || v[0].Property != "S4" ||
		!strings.Contains(v[0].Detail, "2 acknowledged") {
		t.Fatalf("got %v", v)
	}
}

func TestLivenessWantsGrowthAndNoLaggard(t *testing.T) {
	a := logOf(t, "a", block(1, "1", "x"), block(2, "2", "x"), block(3, "3", "x"), block(4, "4", "x"))
	b := logOf(t, "b", block(1, "1", "x"))
	if v := Liveness([]*NodeLog{a}, map[string]int64{"a": 1}, 3, 10); len(v) != 0 {
		t.Fatalf("got %v", v)
	}
	if v := Liveness([]*NodeLog{a, b}, map[string]int64{"a": 1, "b": 1}, 3, 10); len(v) != 1 || v[0].Property != "L1" {
		t.Fatalf("a node that did not grow must be flagged: %v", v)
	}
	if v := Liveness([]*NodeLog{a, b}, map[string]int64{"a": 1, "b": 0}, 1, 2); len(v) != 1 || !strings.Contains(v[0].Detail, "behind") {
		t.Fatalf("a laggard must be flagged: %v", v)
	}
}

// LivenessAt judges the heights of a past moment (the end of a run's duration), not the
// ones the logs reached since (a drain).
func TestLivenessAtJudgesTheGivenHeights(t *testing.T) {
	a := logOf(t, "a", block(1, "1", "x"), block(2, "2", "x"), block(3, "3", "x"), block(4, "4", "x"))
	if v := LivenessAt([]*NodeLog{a}, map[string]int64{"a": 1}, map[string]int64{"a": 2}, 3, 10); len(v) != 1 || v[0].Property != "L1" {
		t.Fatalf("1 height grown by the end, 3 since: must be flagged: %v", v)
	}
	if v := LivenessAt([]*NodeLog{a}, map[string]int64{"a": 1}, map[string]int64{"a": 4}, 3, 10); len(v) != 0 {
		t.Fatalf("got %v", v)
	}
}

func TestClientOrderWantsTheEarlierFirst(t *testing.T) {
	good := logOf(t, "good", block(1, "h1", "a", "x", "first"), block(2, "h2", "a", "second"))
	sameBlock := logOf(t, "same", block(1, "h1", "a", "first", "second"))
	flipped := logOf(t, "flipped", block(1, "h1", "a", "second", "first"))
	pairs := []OrderedPair{{Earlier: "first", Later: "second"}, {Earlier: "never", Later: "second"}}
	if v := ClientOrder([]*NodeLog{good, sameBlock}, pairs); len(v) != 0 {
		t.Fatalf("ordered logs flagged: %v", v)
	}
	if v := ClientOrder([]*NodeLog{good, flipped}, pairs); len(v) != 1 || v[0].Property != "O1" {
		t.Fatalf("a flipped pair not caught: %v", v)
	}
}
