package rpc_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBroadcastTxSync measures broadcast_tx_sync requests per second on one node,
// with the client on the same host: 64 concurrent clients, each with its keep-alive
// connection, posting JSON-RPC requests with unique 100-byte kvstore transactions (the
// reference load of CometBFT's published figures). Every answer must be code 0.
//
// With TUTTI_BENCH_RPC_URL set (e.g. http://127.0.0.1:26657) the same client runs against
// that node instead, which is how the CometBFT figure in README.md was taken.
func BenchmarkBroadcastTxSync(b *testing.B) {
	url := os.Getenv("TUTTI_BENCH_RPC_URL")
	if url == "" {
		url = startNode(b, nil).url
	}
	var seq atomic.Int64
	run := time.Now().UnixNano()
	b.SetParallelism(32) // 32 x GOMAXPROCS goroutines: 64 on the 2-core CI host
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 30 * time.Second}
		for pb.Next() {
			n := seq.Add(1)
			key := fmt.Sprintf("b%d-%d", run, n)
			tx := key + "=" + string(bytes.Repeat([]byte("v"), 100-len(key)-1))
			body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"broadcast_tx_sync","params":{"tx":"%s"}}`,
				n, base64.StdEncoding.EncodeToString([]byte(tx)))
			resp, err := client.Post(url, "application/json", bytes.NewBufferString(body))
			if err != nil {
				b.Error(err)
				return
			}
			out, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Contains(out, []byte(`"code":0`)) {
				b.Errorf("answer %s (%v)", out, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
