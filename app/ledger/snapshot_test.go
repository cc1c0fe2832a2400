package ledger

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

func TestSnapshotRoundTrip(t *testing.T) {
	keys := testKeys(50)
	src := openApp(t, t.TempDir(), WithSnapshots(4, 2, 7)) // 7 accounts a chunk: several chunks
	initApp(t, src, keys, 5000)
	var hashes = map[int64][]byte{}
	for h := int64(1); h <= 9; h++ {
		hashes[h] = runBlock(t, src, h, deterministicBlock(t, src, keys, h)).AppHash
	}
	list, err := src.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Snapshots) != 2 || list.Snapshots[0].Height != 4 || list.Snapshots[1].Height != 8 {
		t.Fatalf("snapshots %v, want heights 4 and 8", list.Snapshots)
	}
	snap := list.Snapshots[1]
	if snap.Chunks < 3 {
		t.Fatalf("only %d chunks", snap.Chunks)
	}
	chunk := func(i uint32) []byte {
		resp, err := src.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: snap.Height, Format: snap.Format, Chunk: i})
		if err != nil || len(resp.Chunk) == 0 {
			t.Fatalf("chunk %d: %v", i, err)
		}
		return resp.Chunk
	}

	// A snapshot whose state does not match the trusted app hash is rejected.
	bad := openApp(t, t.TempDir())
	offer, _ := bad.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: snap, AppHash: hashes[7]})
	if offer.Result != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", offer.Result)
	}
	var last abci.ResponseApplySnapshotChunk_Result
	for i := uint32(0); i < snap.Chunks; i++ {
		resp, _ := bad.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: i, Chunk: chunk(i)})
		last = resp.Result
	}
	if last != abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT {
		t.Fatalf("restoring against a wrong app hash ended with %v", last)
	}
	if info, _ := bad.Info(ctx, &abci.RequestInfo{}); info.LastBlockHeight != 0 {
		t.Fatal("rejected snapshot left a height behind")
	}

	dst := openApp(t, t.TempDir())
	offer, _ = dst.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: snap, AppHash: hashes[8]})
	if offer.Result != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", offer.Result)
	}
	tampered := append([]byte(nil), chunk(1)...)
	tampered[len(tampered)-1] ^= 1
	for i := uint32(0); i < snap.Chunks; i++ {
		if i == 1 {
			resp, _ := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: 1, Chunk: tampered, Sender: "peer-x"})
			if resp.Result != abci.ResponseApplySnapshotChunk_RETRY || len(resp.RejectSenders) != 1 {
				t.Fatalf("tampered chunk: %v", resp)
			}
		}
		resp, _ := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: i, Chunk: chunk(i)})
		if resp.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d: %v", i, resp.Result)
		}
	}
	info, _ := dst.Info(ctx, &abci.RequestInfo{})
	if info.LastBlockHeight != 8 || string(info.LastBlockAppHash) != string(hashes[8]) {
		t.Fatalf("restored Info = %d %X", info.LastBlockHeight, info.LastBlockAppHash)
	}
	// The restored ledger continues exactly like the source.
	next := runBlock(t, dst, 9, deterministicBlock(t, dst, keys, 9))
	if string(next.AppHash) != string(hashes[9]) {
		t.Fatal("restored ledger diverges at the next height")
	}
	for _, k := range append(keys, testKey{addr: proposer}) {
		if balanceOf(t, dst, k.addr) != balanceOf(t, src, k.addr) {
			t.Fatalf("account %s differs after restore", k.addr)
		}
	}
}
