package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Stats counts what a run did and which faults it injected.
type Stats struct {
	Events              uint64
	MessagesSent        uint64
	MessagesDropped     uint64
	MessagesDuplicated  uint64
	MessagesPartitioned uint64
	MessagesRejected    uint64 // failed to decode or validate at the receiver
	InputsDropped       uint64 // a peer's inputs dropped for a full queue (drive.Queue) while the core took inputs
	MaxExecutorLag      int    // the most cut ABCI blocks an instance had waiting for its executor
	SeedsAtLagLimit     int    // seeds in which an instance's executor reached the lag limit
	Faults              map[string]int
	Heights             int64  // the lowest final height among honest instances that were up
	Epochs              uint64 // the highest epoch an honest instance reached (0: no change)
	TxsSubmitted        int
	TxsAcknowledged     int
	TxsExcused          int // acknowledged by a node that crashed before proposing or relaying them
	TxsRelayed          int // relayed transactions a mempool admitted
	OrderedPairs        int // a hopping client's pairs the O1 check judged
	OrderedPairsExcused int // and those it did not (their earlier one's owner held it back or crashed)
	TxsCommitted        int
	SupplyChecks        int // S6 checks run (one per honest instance, at the heal and the end)
	// Drain: how long the run went on past its duration for acknowledged transactions to
	// commit (the longest over seeds in a summary); SeedsDrained: seeds that needed it.
	Drain        time.Duration
	SeedsDrained int
}

func (s *Stats) fault(kind string) {
	if s.Faults == nil {
		s.Faults = map[string]int{}
	}
	s.Faults[kind]++
}

// add accumulates o into s (for a summary over many seeds).
func (s *Stats) add(o *Stats) {
	s.Events += o.Events
	s.MessagesSent += o.MessagesSent
	s.MessagesDropped += o.MessagesDropped
	s.MessagesDuplicated += o.MessagesDuplicated
	s.MessagesPartitioned += o.MessagesPartitioned
	s.MessagesRejected += o.MessagesRejected
	s.InputsDropped += o.InputsDropped
	s.MaxExecutorLag = max(s.MaxExecutorLag, o.MaxExecutorLag)
	s.SeedsAtLagLimit += o.SeedsAtLagLimit
	for k, v := range o.Faults {
		s.fault(k)
		s.Faults[k] += v - 1
	}
	s.Heights += o.Heights
	s.Epochs += o.Epochs
	s.TxsSubmitted += o.TxsSubmitted
	s.TxsAcknowledged += o.TxsAcknowledged
	s.TxsExcused += o.TxsExcused
	s.TxsRelayed += o.TxsRelayed
	s.OrderedPairs += o.OrderedPairs
	s.OrderedPairsExcused += o.OrderedPairsExcused
	s.TxsCommitted += o.TxsCommitted
	s.SupplyChecks += o.SupplyChecks
	s.Drain = max(s.Drain, o.Drain)
	if o.Drain > 0 {
		s.SeedsDrained++
	}
}

// FaultSummary lists faults by type, most frequent first.
func (s *Stats) FaultSummary() string {
	kinds := make([]string, 0, len(s.Faults))
	for k := range s.Faults {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if s.Faults[kinds[i]] != s.Faults[kinds[j]] {
			return s.Faults[kinds[i]] > s.Faults[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	var b strings.Builder
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, s.Faults[k])
	}
	return b.String()
}
