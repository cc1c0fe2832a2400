package ledger

import "testing"

func TestSigCacheIsBounded(t *testing.T) {
	c := newSigCache(3)
	h := func(i byte) [32]byte { return [32]byte{i} }
	for i := byte(1); i <= 4; i++ {
		c.add(h(i))
	}
	if c.contains(h(1)) || !c.contains(h(2)) || !c.contains(h(4)) {
		t.Fatal("the oldest entry was not the one evicted")
	}
	c.forget([][32]byte{h(3)})
	if c.contains(h(3)) {
		t.Fatal("forgotten hash still cached")
	}
	c.add(h(5)) // evicts h(2)
	if c.contains(h(2)) || !c.contains(h(4)) || !c.contains(h(5)) {
		t.Fatal("eviction after forget went wrong")
	}
}
