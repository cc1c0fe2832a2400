package store

import (
	"fmt"
	"testing"
)

func TestEventKeyLayout(t *testing.T) {
	for _, c := range []struct {
		height int64
		index  uint32
	}{{1, 0}, {12, 3}, {1 << 40, 4_000_000_000}} {
		got := string(eventKey(nil, "transfer.sender", "a/b", c.height, c.index))
		want := fmt.Sprintf("tx/event/transfer.sender/a/b/%020d/%010d", c.height, c.index)
		if got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if got, want := string(blockEventKey("block.height", "7", 7)), "block/event/block.height/7/00000000000000000007"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if eventKey(nil, "k", "v", 9, 0)[len("tx/event/k/v/"):][0] != '0' {
		t.Fatal("heights are not zero-padded, so byte order is not numeric order")
	}
}
