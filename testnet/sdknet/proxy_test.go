package sdknet

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"

	abcicli "github.com/cometbft/cometbft/abci/client"
	"github.com/cometbft/cometbft/abci/example/kvstore"
	abciserver "github.com/cometbft/cometbft/abci/server"
	abci "github.com/cometbft/cometbft/abci/types"
)

// The proxy's tests need no simd: they run an in-process ABCI socket server behind it.

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proxiedKVStore is a kvstore socket server behind a recording proxy, and a client for
// each of the connections a node opens.
func proxiedKVStore(t *testing.T) (*abciProxy, map[string]abcicli.Client) {
	t.Helper()
	appAddr := freeAddr(t)
	srv := abciserver.NewSocketServer("tcp://"+appAddr, kvstore.NewInMemoryApplication())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	p, err := startProxy("127.0.0.1:0", appAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	clients := map[string]abcicli.Client{}
	for _, name := range []string{"query", "mempool", "consensus"} {
		c := abcicli.NewSocketClient("tcp://"+p.ln.Addr().String(), true)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop() })
		clients[name] = c
	}
	return p, clients
}

func TestProxyRecordsAGoodSession(t *testing.T) {
	p, cl := proxiedKVStore(t)
	ctx := context.Background()
	if _, err := cl["query"].Info(ctx, &abci.RequestInfo{}); err != nil {
		t.Fatal(err)
	}
	cons := cl["consensus"]
	if _, err := cons.InitChain(ctx, &abci.RequestInitChain{ChainId: "c", InitialHeight: 1}); err != nil {
		t.Fatal(err)
	}
	for h := int64(1); h <= 3; h++ {
		hash := bytes.Repeat([]byte{byte(h)}, 32)
		if _, err := cl["mempool"].CheckTx(ctx, &abci.RequestCheckTx{Tx: []byte(fmt.Sprintf("k%d=v", h))}); err != nil {
			t.Fatal(err)
		}
		if _, err := cons.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: h, MaxTxBytes: 1 << 20}); err != nil {
			t.Fatal(err)
		}
		if _, err := cons.ProcessProposal(ctx, &abci.RequestProcessProposal{Height: h, Hash: hash}); err != nil {
			t.Fatal(err)
		}
		if _, err := cons.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Hash: hash}); err != nil {
			t.Fatal(err)
		}
		if _, err := cons.Commit(ctx, &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := p.Check()
	if err != nil {
		t.Fatal(err)
	}
	s := p.Sessions()
	if len(s) != 1 || n != 1+1+4*3 {
		t.Fatalf("want one session of 14 calls, got %d sessions, %d calls: %v", len(s), n, s)
	}
	if got := s[0].calls[3]; got.Method != "ProcessProposal" || got.Height != 1 || got.Hash != strings.Repeat("01", 32) {
		t.Fatalf("call 3 is %v", got)
	}
}

func TestProxyCatchesAnIllegalSession(t *testing.T) {
	p, cl := proxiedKVStore(t)
	ctx := context.Background()
	if _, err := cl["query"].Info(ctx, &abci.RequestInfo{}); err != nil {
		t.Fatal(err)
	}
	cons := cl["consensus"]
	if _, err := cons.InitChain(ctx, &abci.RequestInitChain{ChainId: "c", InitialHeight: 1}); err != nil {
		t.Fatal(err)
	}
	// The sequence that once crashed the Cosmos SDK: a proposal for height 2 before
	// height 1 is finalized.
	if _, err := cons.ProcessProposal(ctx, &abci.RequestProcessProposal{Height: 2, Hash: []byte{2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cons.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Hash: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check(); err == nil || !strings.Contains(err.Error(), "ProcessProposal(2,02)") {
		t.Fatalf("want the grammar to refuse ProcessProposal(2) before FinalizeBlock(1), got %v", err)
	}
}

// framed is a length-prefixed message as the socket protocol writes it.
func framed(t *testing.T, payloads ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, p := range payloads {
		b.Write(binary.AppendUvarint(nil, uint64(len(p))))
		b.Write(p)
	}
	return b.Bytes()
}

func request(t *testing.T, r *abci.Request) []byte {
	t.Helper()
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The decoder never changes what is forwarded, and whatever it cannot decode becomes an
// error of the record instead of a crash or a wrong call.
func TestProxyDecodingIsBoundedAndRobust(t *testing.T) {
	commit := request(t, abci.ToRequestCommit())
	finalize := request(t, abci.ToRequestFinalizeBlock(&abci.RequestFinalizeBlock{Height: 7, Hash: []byte{0xab}}))
	cases := []struct {
		name      string
		in        []byte
		calls     string
		wantError string
	}{
		{"good", framed(t, finalize, commit), "FinalizeBlock(7,AB) Commit", ""},
		{"garbage payload", framed(t, []byte{0xff, 0xff, 0xff}, commit), "Commit", "request 0"},
		{"cut short", framed(t, finalize)[:5], "", "cut short"},
		{"bad length", bytes.Repeat([]byte{0xff}, 11), "", "frame length"},
		{"over the limit", append(binary.AppendUvarint(nil, maxFrame+1), framed(t, commit)...), "", "decoding limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &connRecord{}
			var out bytes.Buffer
			pipe(&out, bytes.NewReader(tc.in), rec.request)
			if !bytes.Equal(out.Bytes(), tc.in) {
				t.Fatalf("forwarded %x, want %x", out.Bytes(), tc.in)
			}
			calls, errs := rec.snapshot()
			var got []string
			for _, c := range calls {
				got = append(got, c.String())
			}
			if strings.Join(got, " ") != tc.calls {
				t.Errorf("calls %q, want %q", strings.Join(got, " "), tc.calls)
			}
			switch {
			case tc.wantError == "" && len(errs) > 0:
				t.Errorf("unexpected errors %v", errs)
			case tc.wantError != "" && (len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), tc.wantError)):
				t.Errorf("errors %v, want one with %q", errs, tc.wantError)
			}
		})
	}
}
