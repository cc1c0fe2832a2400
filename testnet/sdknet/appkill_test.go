package sdknet

import (
	"context"
	"strings"
	"testing"
	"time"
)

const (
	appKilled  = 1 // the node whose simd alone is killed
	nodeKilled = 2 // the node killed with its simd
)

// TestAppKill kills one node's simd (SIGKILL): that node exits within 5 s, with an ERROR
// line in its log naming the app's address. Then another node is killed with its simd,
// both are restarted (apps first), and each catches up with the others: every node
// reaches the others' height and all agree on the block and app hash at a common height.
func TestAppKill(t *testing.T) {
	needSDK(t)
	ctx := context.Background()
	c := newTestChain(t, chainOptions{validators: 4})
	if err := c.startAll(); err != nil {
		t.Fatal(err)
	}
	if err := c.net.WaitHeight(ctx, 5, 2*time.Minute); err != nil {
		t.Fatal(err)
	}

	c.nodes[appKilled].app.kill()
	killed := time.Now()
	exited, status := c.net.Wait(appKilled, 5*time.Second)
	if !exited {
		t.Errorf("node %d still runs 5 s after its app was killed", appKilled)
		c.net.Kill(appKilled)
	} else {
		t.Logf("node %d exited %v after its app was killed: %v", appKilled, time.Since(killed).Round(time.Millisecond), status)
	}
	// The node's own line, in proxy_app's form and with what to do (cometbft's client logs
	// the socket's addresses too, without either).
	addr := "tcp://" + c.appAddr(appKilled)
	all, err := errorLines(c.net.LogPath(appKilled), addr)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range all {
		if strings.Contains(l, "Restart the app") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		t.Errorf("node %d's log (%s) has no ERROR line naming its app's address %s and what to do", appKilled, c.net.LogPath(appKilled), addr)
	} else {
		t.Logf("node %d logged: %s", appKilled, lines[0])
	}

	c.killNode(nodeKilled)
	top := int64(0)
	for _, i := range []int{0, 3} {
		h, err := rpcHeight(ctx, c.rpc(i))
		if err != nil {
			t.Fatal(err)
		}
		top = max(top, h)
	}
	t.Logf("node %d killed with its app; the others are at height %d", nodeKilled, top)
	for _, i := range []int{appKilled, nodeKilled} {
		if err := c.start(i); err != nil {
			t.Fatal(err)
		}
	}
	// Every node, restarted ones included, past where the others were.
	if err := c.net.WaitHeight(ctx, top+10, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	common := int64(-1)
	for i := range c.nodes {
		h, err := rpcHeight(ctx, c.rpc(i))
		if err != nil {
			t.Fatal(err)
		}
		if common < 0 || h < common {
			common = h
		}
	}
	var first blockHeader
	for i := range c.nodes {
		b, err := rpcBlock(ctx, c.rpc(i), common)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = b
			continue
		}
		if b.Hash != first.Hash || b.AppHash != first.AppHash || b.AppHash == "" {
			t.Errorf("block %d: node 0 has hash %s app hash %s, node %d has %s and %s", common, first.Hash, first.AppHash, i, b.Hash, b.AppHash)
		}
	}
	t.Logf("after the restarts every node passed height %d; block %d agreed (app hash %s)", top+10, common, first.AppHash)
}
