package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
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

	journal := newestJournal(t, filepath.Join(ln.homes[3], "data", "tutti.db"))
	fi, err := os.Stat(journal)
	if err != nil {
		t.Fatal(err)
	}
	cut := min(fi.Size()/3, 16<<10)
	if err := os.Truncate(journal, fi.Size()-cut); err != nil {
		t.Fatal(err)
	}
	t.Logf("cut %d of %d bytes off %s", cut, fi.Size(), filepath.Base(journal))

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

// newestJournal is goleveldb's current write-ahead log: the highest-numbered *.log file.
func newestJournal(t *testing.T, dbDir string) string {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(dbDir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	var journals []string
	for _, l := range logs {
		if strings.TrimSuffix(filepath.Base(l), ".log") != "LOG" {
			journals = append(journals, l)
		}
	}
	if len(journals) == 0 {
		t.Fatalf("no journal in %s", dbDir)
	}
	sort.Strings(journals) // fixed-width numbers: the last is the newest
	return journals[len(journals)-1]
}
