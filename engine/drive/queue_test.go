package drive

import (
	"testing"

	"github.com/tutti-bft/tutti/engine/core"
)

// A peer that floods waits behind everyone else's next input: the queue serves peers in
// turn, one input each, after the host's own.
func TestAFloodingPeerDelaysOnlyItself(t *testing.T) {
	q := NewQueue()
	for i := 0; i < PerPeerInputs; i++ {
		q.PushPeer("flooder", core.FetchRequested{From: 1})
	}
	if !q.Full("flooder") || q.Full("honest") {
		t.Fatalf("full: flooder %v, honest %v", q.Full("flooder"), q.Full("honest"))
	}
	q.PushPeer("honest", core.BlockReceived{From: 2})
	q.PushLocal(core.TimerFired{Kind: core.Resync})
	var order []core.Input
	for range 3 {
		in, ok := q.Pop()
		if !ok {
			t.Fatal("the queue ran dry")
		}
		order = append(order, in)
	}
	if _, ok := order[0].(core.TimerFired); !ok {
		t.Fatalf("first %T, want the host's own timer", order[0])
	}
	if _, ok := order[1].(core.FetchRequested); !ok {
		t.Fatalf("second %T, want the flooder's first (its turn came first)", order[1])
	}
	if _, ok := order[2].(core.BlockReceived); !ok {
		t.Fatalf("third %T, want the honest peer's block after one flooder input, not %d", order[2], PerPeerInputs)
	}
	q.Drop("flooder")
	if !q.Empty() {
		t.Fatal("the dropped peer's inputs are still queued")
	}
}
