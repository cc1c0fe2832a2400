package sdknet

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tutti-bft/tutti/testnet/localnet"
)

// relayCounts reads node i's tutti_mempool_relay_txs counters (by status: admitted,
// refused, sent, unsent, ...) from its Prometheus endpoint.
func (c *chain) relayCounts(ctx context.Context, i int) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.addr(i, localnet.MetricsOffset)+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	const prefix = `tutti_mempool_relay_txs{status="`
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		status, value, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("node %d metrics: %q: %v", i, sc.Text(), err)
		}
		out[status] = v
	}
	return out, sc.Err()
}
