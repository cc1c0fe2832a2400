package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/tutti-bft/tutti/app/ledger"
	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
	"github.com/tutti-bft/tutti/engine/sim/check"
	"github.com/tutti-bft/tutti/testnet/accounts"
)

// check reads every reachable node's chain through its RPC and runs the checkers. Twins
// and their originals are byzantine (they equivocate): only the honest nodes are judged.
func (r *runner) check(ctx context.Context) error {
	logs := map[string]*check.NodeLog{}
	for _, name := range r.m.Honest() {
		i := r.n.index[name]
		if !r.n.net.Running(i) || r.n.net.Paused(i) {
			r.res.Unchecked = append(r.res.Unchecked, name)
			continue
		}
		l, v, err := readChain(ctx, name, r.n.rpc(name))
		if err != nil {
			return err
		}
		if v != nil {
			r.violate(*v)
		}
		logs[name] = l
		r.res.Heights[name] = l.Height()
	}
	var honest []*check.NodeLog
	for _, name := range sortedKeys(logs) {
		honest = append(honest, logs[name])
	}
	for _, v := range check.Agreement(honest) {
		r.violate(v)
	}
	r.noRollback(logs)
	if rep := r.res.Load; rep != nil {
		acked := make([]string, len(rep.Accepted))
		for i, h := range rep.Accepted {
			acked[i] = hex.EncodeToString(h[:])
		}
		for _, v := range check.Durability(honest, acked, nil) {
			r.violate(v)
		}
	}
	for _, l := range honest {
		if n := countTxs(l); n > r.res.Committed {
			r.res.Committed = n
		}
	}
	r.res.Equivocations = r.equivocationsLogged()
	if r.m.App == "ledger" {
		if err := r.checkSupply(ctx, logs); err != nil {
			return err
		}
	}
	var heights []string
	for _, n := range sortedKeys(r.res.Heights) {
		heights = append(heights, fmt.Sprintf("%s %d", n, r.res.Heights[n]))
	}
	r.logf("checked %d nodes (heights %s): %d transactions committed, %d violations", len(logs), strings.Join(heights, ", "), r.res.Committed, len(r.res.Violations))
	return nil
}

func (r *runner) violate(v check.Violation) {
	r.res.Violations = append(r.res.Violations, v)
	r.logf("VIOLATION %s", v)
}

// noRollback is S3: a node's chain at the end holds, at the height it had before each
// kill, restart or truncation, the block it had then.
func (r *runner) noRollback(logs map[string]*check.NodeLog) {
	for _, s := range r.before {
		l, ok := logs[s.node]
		if !ok || s.height == 0 {
			continue
		}
		switch {
		case l.Height() < s.height:
			r.violate(check.Violation{Property: "S3", Detail: fmt.Sprintf("%s was at height %d before it went down, ends at %d", s.node, s.height, l.Height())})
		case !bytes.Equal(l.Blocks[s.height-1].Hash, s.hash):
			r.violate(check.Violation{Property: "S3", Detail: fmt.Sprintf("%s had block %X at height %d before it went down, ends with %X there", s.node, s.hash, s.height, l.Blocks[s.height-1].Hash)})
		}
	}
}

// readChain fetches heights 1..latest from one node: each block's hash and transactions
// (kept as their SHA-256 in hex, the form the load generator reports) and the app hash
// after it (block_results). A transaction committed twice or a gap in the chain comes back
// as a violation.
func readChain(ctx context.Context, name, addr string) (*check.NodeLog, *check.Violation, error) {
	c, err := rpchttp.New(addr, "/websocket")
	if err != nil {
		return nil, nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	st, err := c.Status(qctx)
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("e2e: %s status: %w", name, err)
	}
	l := &check.NodeLog{Node: name}
	for h := int64(1); h <= st.SyncInfo.LatestBlockHeight; h++ {
		blk, err := readBlock(ctx, c, h)
		if err != nil {
			return nil, nil, fmt.Errorf("e2e: %s height %d: %w", name, h, err)
		}
		if v := l.Append(blk); v != nil {
			return l, v, nil
		}
	}
	return l, nil, nil
}

func readBlock(ctx context.Context, c *rpchttp.HTTP, h int64) (check.Block, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := c.Block(ctx, &h)
	if err != nil {
		return check.Block{}, err
	}
	res, err := c.BlockResults(ctx, &h)
	if err != nil {
		return check.Block{}, err
	}
	blk := check.Block{Height: h, Hash: b.BlockID.Hash, AppHash: res.AppHash}
	for _, t := range b.Block.Txs {
		sum := sha256.Sum256(t)
		blk.Txs = append(blk.Txs, []byte(hex.EncodeToString(sum[:])))
	}
	return blk, nil
}

func countTxs(l *check.NodeLog) int {
	n := 0
	for _, b := range l.Blocks {
		n += len(b.Txs)
	}
	return n
}

// checkSupply is S6: on every honest node, at the lowest height they all reached, the
// balances of every account that can hold tokens (the funded accounts, the validators,
// the fee collector) sum to what genesis minted.
func (r *runner) checkSupply(ctx context.Context, logs map[string]*check.NodeLog) error {
	if len(logs) == 0 {
		return nil
	}
	var height int64 = -1
	for _, l := range logs {
		if height < 0 || l.Height() < height {
			height = l.Height()
		}
	}
	addrs := []tx.Address{ledger.FeeCollector}
	for i := range r.m.Load.Accounts {
		addrs = append(addrs, accounts.Address(accounts.DefaultSeed, i))
	}
	vals, err := r.validatorAddresses(ctx, sortedKeys(logs)[0])
	if err != nil {
		return err
	}
	addrs = append(addrs, vals...)
	want := accounts.DefaultBalance * uint64(r.m.Load.Accounts)
	for _, name := range sortedKeys(logs) {
		c, err := rpchttp.New(r.n.rpc(name), "/websocket")
		if err != nil {
			return err
		}
		var total uint64
		for _, a := range addrs {
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			res, err := c.ABCIQueryWithOptions(qctx, ledger.QueryBalance, a[:], rpcQueryAt(height))
			cancel()
			if err != nil {
				return fmt.Errorf("e2e: %s balance of %s: %w", name, a, err)
			}
			if res.Response.Code != abci.CodeTypeOK {
				r.violate(check.Violation{Property: "S6", Detail: fmt.Sprintf("%s: balance query for %s at height %d refused: %s", name, a, height, res.Response.Log)})
				return nil
			}
			var rec state.AccountRecord
			if err := rec.Unmarshal(res.Response.Value); err != nil {
				r.violate(check.Violation{Property: "S6", Detail: fmt.Sprintf("%s: malformed account record for %s", name, a)})
				return nil
			}
			total += rec.Balance
		}
		r.res.Supply = total
		if total != want {
			r.violate(check.Violation{Property: "S6", Detail: fmt.Sprintf("%s at height %d: total supply %d, genesis minted %d", name, height, total, want)})
		}
	}
	return nil
}

func rpcQueryAt(h int64) rpcclient.ABCIQueryOptions { return rpcclient.ABCIQueryOptions{Height: h} }

// validatorAddresses are the ledger addresses of the genesis validators (they may earn
// fees).
func (r *runner) validatorAddresses(ctx context.Context, node string) ([]tx.Address, error) {
	c, err := rpchttp.New(r.n.rpc(node), "/websocket")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	one := int64(1)
	vals, err := c.Validators(ctx, &one, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("e2e: validators: %w", err)
	}
	var out []tx.Address
	for _, v := range vals.Validators {
		out = append(out, tx.AddressFromPubKey(v.PubKey.Bytes()))
	}
	return out, nil
}

// equivocationWarning is what a node logs (engine/node, WARN) when it holds two blocks of
// one author for one round.
const equivocationWarning = "a validator signed two blocks for one round"

// equivocationsLogged is the most equivocations any honest node reported in its log: the
// proof that twins did equivocate, not just run.
func (r *runner) equivocationsLogged() int {
	most := 0
	for _, name := range r.m.Honest() {
		raw, err := os.ReadFile(r.n.net.LogPath(r.n.index[name]))
		if err != nil {
			continue
		}
		most = max(most, bytes.Count(raw, []byte(equivocationWarning)))
	}
	return most
}
