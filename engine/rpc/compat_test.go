package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/merkle"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/config"
	"github.com/tutti-bft/tutti/p2p"
)

// These tests hold the JSON fields the Cosmos SDK CLI and CosmJS read to what CometBFT
// v0.38 returns, on the wire (raw JSON) where the client's decoding would hide the
// difference (null and [] decode alike).

// result decodes a raw JSON-RPC answer's result into a generic tree.
func result(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var resp struct {
		Result map[string]any  `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Result == nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	return resp.Result
}

// field walks a decoded JSON tree along a dotted path.
func field(t *testing.T, tree any, path string) any {
	t.Helper()
	cur := tree
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s: %q is not an object in %v", path, k, cur)
		}
		if cur, ok = m[k]; !ok {
			t.Fatalf("%s: no %q in %v", path, k, m)
		}
	}
	return cur
}

// isEmptyList fails unless v is a JSON [] (not null).
func isEmptyList(t *testing.T, where string, v any) {
	t.Helper()
	if l, ok := v.([]any); !ok || len(l) != 0 {
		t.Errorf("%s is %#v, want [] as CometBFT", where, v)
	}
}

// TestBlockEvidenceIsEmptyList: block.evidence.evidence is [] in every answer and event
// that carries a block.
func TestBlockEvidenceIsEmptyList(t *testing.T) {
	tn := shared(t)
	blk := result(t, getURL(t, tn.url+"/block?height=1"))
	isEmptyList(t, "block.evidence.evidence", field(t, blk, "block.evidence.evidence"))
	hash := field(t, blk, "block_id.hash").(string)
	isEmptyList(t, "block_by_hash: block.evidence.evidence",
		field(t, result(t, getURL(t, tn.url+"/block_by_hash?hash=0x"+hash)), "block.evidence.evidence"))

	found := result(t, getURL(t, tn.url+`/block_search?query="block.height=1"`))
	blocks, ok := field(t, found, "blocks").([]any)
	if !ok || len(blocks) != 1 {
		t.Fatalf("block_search: %v", found)
	}
	isEmptyList(t, "block_search: block.evidence.evidence", field(t, blocks[0], "block.evidence.evidence"))

	ws := dialWS(t, tn)
	if r := wsCall(t, ws, 1, "subscribe", map[string]any{"query": "tm.event='NewBlock'"}); r.Error != nil {
		t.Fatal(r.Error)
	}
	select {
	case ev := <-ws.ResponsesCh:
		var tree map[string]any
		if err := json.Unmarshal(ev.Result, &tree); err != nil {
			t.Fatal(err)
		}
		isEmptyList(t, "NewBlock event: block.evidence.evidence", field(t, tree, "data.value.block.evidence.evidence"))
	case <-time.After(10 * time.Second):
		t.Fatal("no NewBlock event within 10 s")
	}
}

// TestBlockOneLastResultsHash: the initial height's last_results_hash is the Merkle root of
// no results, as CometBFT sets it after InitChain.
func TestBlockOneLastResultsHash(t *testing.T) {
	tn := shared(t)
	got := field(t, result(t, getURL(t, tn.url+"/block?height=1")), "block.header.last_results_hash")
	const empty = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855" // sha256 of nothing
	if got != empty || fmt.Sprintf("%X", merkle.HashFromByteSlices(nil)) != empty || fmt.Sprintf("%X", cmttypes.NewResults(nil).Hash()) != empty {
		t.Errorf("height 1 last_results_hash %v, want %s", got, empty)
	}
	h, err := tn.client(t).Header(context.Background(), ptr(int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%X", h.Header.LastResultsHash) != empty {
		t.Errorf("header(1).last_results_hash %X", h.Header.LastResultsHash)
	}
}

// TestStatusNodeInfoIsCometBFTs: protocol_version p2p 8, block 11 and the app's version;
// listen_addr with its scheme, where the node listens; net_info's listener alike.
func TestStatusNodeInfoIsCometBFTs(t *testing.T) {
	tn := shared(t)
	st := result(t, getURL(t, tn.url+"/status"))
	pv := field(t, st, "node_info.protocol_version")
	// kvstore's Info says app_version 1; int64s are strings in CometBFT's JSON.
	if want := map[string]any{"p2p": "8", "block": "11", "app": "1"}; !reflect.DeepEqual(pv, want) {
		t.Errorf("protocol_version %v, want %v", pv, want)
	}
	listen, _ := field(t, st, "node_info.listen_addr").(string)
	hostPort, ok := strings.CutPrefix(listen, "tcp://")
	if host, port, err := net.SplitHostPort(hostPort); !ok || err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("listen_addr %q, want tcp://127.0.0.1:<the port taken> (configured %s)", listen, tn.cfg.P2P.ListenAddress)
	}
	c, err := net.DialTimeout("tcp", hostPort, 5*time.Second)
	if err != nil {
		t.Fatalf("nothing listens at listen_addr %s: %v", listen, err)
	}
	_ = c.Close()
	if other := field(t, st, "node_info.other"); !reflect.DeepEqual(other, map[string]any{"tx_index": "on", "rpc_address": tn.cfg.RPC.ListenAddress}) {
		t.Errorf("other %v", other)
	}
	if ch := field(t, st, "node_info.channels"); ch != "203040" {
		t.Errorf("channels %v, want the hex of Tutti's channel IDs", ch)
	}
	ni := result(t, getURL(t, tn.url+"/net_info"))
	if l := field(t, ni, "listeners"); !reflect.DeepEqual(l, []any{"Listener(@" + listen + ")"}) {
		t.Errorf("listeners %v", l)
	}
}

// TestFullNodeCatchesUpAndNetInfoShowsPeers: a node that is not a validator starts when
// the chain is past height 20. While it replays, status says catching_up (and its height
// is below the validator's); once level, it does not. Each node's net_info shows the other
// with the node info the other reports in its own status and a measured connection.
func TestFullNodeCatchesUpAndNetInfoShowsPeers(t *testing.T) {
	v := startNode(t, func(c *config.Config) { c.Moniker = "validator" })
	v.waitHeight(t, 20)
	vc := v.client(t)
	ctx := context.Background()
	vst, err := vc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vAddr := string(vst.NodeInfo.DefaultNodeID) + "@" + strings.TrimPrefix(vst.NodeInfo.ListenAddr, "tcp://")

	fcfg, _ := newHome(t, func(c *config.Config) {
		c.Moniker = "full"
		c.P2P.PersistentPeers = vAddr
	})
	gen, err := os.ReadFile(v.cfg.GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fcfg.GenesisFile(), gen, 0o600); err != nil {
		t.Fatal(err)
	}
	target := v.node.Height()
	f := runNode(t, fcfg, 0)
	fc := f.client(t)

	sawBehind := false
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := fc.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.SyncInfo.CatchingUp && st.SyncInfo.LatestBlockHeight < v.node.Height() {
			sawBehind = true
		}
		if st.SyncInfo.LatestBlockHeight >= target && !st.SyncInfo.CatchingUp {
			if !sawBehind {
				t.Errorf("the full node reached height %d without ever reporting catching_up", st.SyncInfo.LatestBlockHeight)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the full node is at height %d (validator %d), catching_up %v, seen behind %v",
				st.SyncInfo.LatestBlockHeight, v.node.Height(), st.SyncInfo.CatchingUp, sawBehind)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st, err := vc.Status(ctx); err != nil {
		t.Fatal(err)
	} else if st.SyncInfo.CatchingUp {
		t.Error("the validator, which is the network, reports catching_up")
	}

	fst, err := fc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkPeer(t, vc, fst.NodeInfo, false)
	checkPeer(t, fc, vst.NodeInfo, true)

	// The validator broadcasts its blocks to the full node on the consensus channel.
	ni, err := vc.NetInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cs := ni.Peers[0].ConnectionStatus; len(cs.Channels) == 0 || cs.Channels[0].ID != byte(p2p.ChannelConsensus) || cs.Channels[0].RecentlySent <= 0 {
		t.Errorf("the validator's consensus channel to the full node: %+v", cs.Channels)
	}
	// On the wire as CometBFT writes it.
	raw := result(t, getURL(t, v.url+"/net_info"))
	peer := field(t, raw, "peers").([]any)[0]
	if ch := field(t, peer, "node_info.channels"); ch != "203040" {
		t.Errorf("peer node_info.channels %v", ch)
	}
	if b, _ := field(t, peer, "connection_status.SendMonitor.Bytes").(string); b == "" || b == "0" {
		t.Errorf("peer connection_status.SendMonitor.Bytes %q", b)
	}
}

// checkPeer checks c's net_info: one peer, whose node info is want (its own status') and
// whose connection status carries what the link measured.
func checkPeer(t *testing.T, c interface {
	NetInfo(context.Context) (*ctypes.ResultNetInfo, error)
}, want cmtp2p.DefaultNodeInfo, outbound bool) {
	t.Helper()
	ni, err := c.NetInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ni.NPeers != 1 || len(ni.Peers) != 1 {
		t.Fatalf("net_info of %s's peer: %+v", want.Moniker, ni)
	}
	p := ni.Peers[0]
	if !reflect.DeepEqual(p.NodeInfo, want) {
		t.Errorf("net_info shows %s as\n%+v\nits status says\n%+v", want.Moniker, p.NodeInfo, want)
	}
	if p.IsOutbound != outbound || p.RemoteIP != "127.0.0.1" {
		t.Errorf("peer %s: outbound %v remote %q", want.Moniker, p.IsOutbound, p.RemoteIP)
	}
	cs := p.ConnectionStatus
	if cs.Duration <= 0 || cs.SendMonitor.Bytes <= 0 || cs.RecvMonitor.Bytes <= 0 || cs.SendMonitor.Start.IsZero() {
		t.Errorf("connection to %s: %+v", want.Moniker, cs)
	}
	var ids []byte
	for i, ch := range cs.Channels {
		ids = append(ids, ch.ID)
		d := p2p.DefaultChannels()[i]
		if ch.Priority != d.Priority || ch.SendQueueCapacity != d.SendQueueBytes || ch.SendQueueSize < 0 {
			t.Errorf("channel %#x to %s: %+v", ch.ID, want.Moniker, ch)
		}
	}
	if !bytes.Equal(ids, []byte{0x20, 0x30, 0x40}) {
		t.Errorf("channels to %s: %+v", want.Moniker, cs.Channels)
	}
}
