package main

import (
	"testing"
	"time"
)

// TestTruncatedDatabaseTailRecoversWhileTheNetworkGoesOn kills one validator (-9), cuts the
// tail off its database's write-ahead journal, as a disk that lost its last writes would,
// and restarts it. The other three commit on meanwhile; the damaged node drops the torn
// records, says so in a WARN, rebuilds what it lost from its peers and catches up, and no
// slot is ever signed twice (privval's watermark stops it from signing again a round whose
// block the cut took away).
func TestTruncatedDatabaseTailRecoversWhileTheNetworkGoesOn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 node processes for about half a minute")
	}
	ln := newLocalnet(t, 4)
	for i := range ln.homes {
		ln.start(i)
	}
	ln.waitHeight(all(4), 10, 60*time.Second)
	ln.kill(3)

	cut, err := ln.TruncateJournal(3, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cut %d bytes off node 3's journal", cut)

	before := max(ln.height(0), ln.height(1), ln.height(2))
	ln.waitHeight([]int{0, 1, 2}, before+5, 30*time.Second)

	ln.start(3)
	top := max(ln.height(0), ln.height(1), ln.height(2))
	ln.waitHeight(all(4), top+5, 60*time.Second)
	if ln.logCount(3, "recovered the block store to its last consistent point") == 0 {
		t.Fatalf("node 3 restarted on a torn journal without reporting the recovery\n%s", ln.tail(3, 30))
	}
	for i := range ln.homes {
		ln.stop(i)
	}
	ln.checkStores(top + 5)
}
