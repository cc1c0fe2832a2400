package wire

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tutti-bft/tutti/engine/types"
)

func sample() *types.Block {
	b := &types.Block{Epoch: 1, Round: 3, Author: 1, TimeMs: 99,
		Parents:  []types.Ref{{Author: 1, Round: 2, Digest: types.Digest{1}}, {Author: 0, Round: 2, Digest: types.Digest{2}}},
		Txs:      [][]byte{[]byte("tx1"), []byte("tx2")},
		Evidence: []types.Equivocation{{Epoch: 1, Round: 2, Author: 3, DigestA: types.Digest{3}, DigestB: types.Digest{4}, SignatureA: []byte("a"), SignatureB: []byte("b")}},
		Attestation: &types.Attestation{ChainID: "c", Height: 4, BlockHash: []byte{1}, AppHash: []byte{2},
			ResultsHash: []byte{3}, NextValidatorsHash: []byte{4}},
		Signature: []byte("signature")}
	b.Digest()
	return b
}

func TestRoundTrip(t *testing.T) {
	for name, m := range map[string]Message{
		"block":    BlockMessage(sample()),
		"request":  FetchRequestMessage([]types.Ref{sample().Ref()}),
		"response": FetchResponseMessage([]*types.Block{sample(), sample()}),
		"empty":    FetchRequestMessage(nil),
		"sync":     SyncRequestMessage(3, []uint64{10, 0, 12, 9}),
		"relay":    TxRelayMessage(make([]byte, 32), [][]byte{[]byte("a=1"), []byte("b=2")}),
	} {
		bz, err := Encode(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := Decode(bz, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch {
		case m.Relay != nil:
			if got.Relay == nil || len(got.Relay.Owner) != 32 || len(got.Relay.Txs) != 2 || string(got.Relay.Txs[1]) != "b=2" {
				t.Fatalf("%s: relay changed: %+v", name, got.Relay)
			}
		case m.Sync != nil:
			if got.Sync == nil || got.Sync.Epoch != 3 || fmt.Sprint(got.Sync.Highest) != "[10 0 12 9]" {
				t.Fatalf("%s: sync request changed: %+v", name, got.Sync)
			}
		case m.Block != nil:
			if got.Block == nil || got.Block.Digest() != m.Block.Digest() || string(got.Block.Signature) != "signature" {
				t.Fatalf("%s: block changed", name)
			}
		case m.IsFetchRequest():
			if !got.IsFetchRequest() || len(got.FetchRequest) != len(m.FetchRequest) {
				t.Fatalf("%s: request changed", name)
			}
		default:
			if !got.IsFetchResponse() || len(got.FetchResponse) != 2 || got.FetchResponse[1].Digest() != sample().Digest() {
				t.Fatalf("%s: response changed", name)
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	big, _ := Encode(BlockMessage(sample()))
	small := DefaultLimits()
	small.MaxMessageBytes = len(big) - 1
	if _, err := Decode(big, small); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize message: %v", err)
	}
	few := DefaultLimits()
	few.Block.MaxTxs = 1
	if _, err := Decode(big, few); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too many txs: %v", err)
	}
	refs := make([]types.Ref, 3)
	req, _ := Encode(FetchRequestMessage(refs))
	lim := DefaultLimits()
	lim.MaxRefs = 2
	if _, err := Decode(req, lim); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too many refs: %v", err)
	}
	sync, _ := Encode(SyncRequestMessage(1, make([]uint64, 3)))
	if _, err := Decode(sync, lim); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too many authors in a sync request: %v", err)
	}
	relay, _ := Encode(TxRelayMessage(nil, [][]byte{[]byte("a"), []byte("b")}))
	if _, err := Decode(relay, few); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too many relayed txs: %v", err)
	}
	tiny := DefaultLimits()
	tiny.Block.MaxTxBytes = 1
	if bz, _ := Encode(TxRelayMessage(nil, [][]byte{[]byte("ab")})); true {
		if _, err := Decode(bz, tiny); !errors.Is(err, ErrTooLarge) {
			t.Errorf("oversized relayed tx: %v", err)
		}
	}
	emptyTx, _ := Encode(TxRelayMessage(nil, [][]byte{{}}))
	noTxs, _ := Encode(TxRelayMessage(nil, nil))
	badOwner, _ := Encode(TxRelayMessage([]byte("short"), [][]byte{[]byte("a")}))
	for name, bz := range map[string][]byte{
		"empty relayed tx": emptyTx,
		"relay of nothing": noTxs,
		"bad relay owner":  badOwner,
		"garbage":          {0xff, 0xff, 0xff},
		"truncated":        big[:len(big)/2],
		"nothing":          {},
		"bad ref":          {0x12, 0x04, 0x0a, 0x02, 0x1a, 0x00}, // a ref with an empty digest
	} {
		if _, err := Decode(bz, DefaultLimits()); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
	if _, err := Encode(Message{}); err == nil {
		t.Error("an empty message encoded")
	}
}

// FuzzDecode: no input makes Decode panic, and whatever it accepts re-encodes to bytes
// it accepts again with the same digests.
func FuzzDecode(f *testing.F) {
	for _, m := range []Message{BlockMessage(sample()), FetchRequestMessage([]types.Ref{sample().Ref()}),
		FetchResponseMessage([]*types.Block{sample()}), SyncRequestMessage(2, []uint64{5, 6}),
		TxRelayMessage(make([]byte, 32), [][]byte{[]byte("k=v")})} {
		bz, _ := Encode(m)
		f.Add(bz)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data, DefaultLimits())
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		again, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted message does not re-encode: %v", err)
		}
		m2, err := Decode(again, DefaultLimits())
		if err != nil {
			t.Fatalf("re-encoded message rejected: %v", err)
		}
		if m.Block != nil && m.Block.Digest() != m2.Block.Digest() {
			t.Fatal("digest changed across re-encoding")
		}
	})
}

// TestFuzzSeedsExist keeps the checked-in corpus from silently disappearing.
func TestFuzzSeedsExist(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecode", "*"))
	if len(files) < 3 {
		t.Fatalf("want at least 3 seed files in testdata/fuzz/FuzzDecode, have %d", len(files))
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Fatalf("seed %s unreadable or empty", f)
		}
	}
}
