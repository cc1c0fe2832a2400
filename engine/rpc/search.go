package rpc

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"

	cmtquery "github.com/cometbft/cometbft/libs/pubsub/query"
	"github.com/cometbft/cometbft/libs/pubsub/query/syntax"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/store"
)

// tx_search and block_search answer CometBFT's query language from the store's event
// index, as CometBFT's kv indexer does: a query is the AND of its conditions; each
// condition selects the entries of its composite key whose value it matches (cometbft's
// own query package decides the match, so numbers, dates, CONTAINS and EXISTS behave as in
// CometBFT); the results are the transactions (heights) every condition selected. Only
// attributes the app marked index=true are searchable, plus tx.hash, tx.height and
// block.height.

// txPos is where a transaction sits.
type txPos struct {
	height int64
	index  uint32
}

// conditionMatcher wraps one condition as a query of its own, so matching one value is
// cometbft's matching.
type conditionMatcher struct {
	cond syntax.Condition
	q    *cmtquery.Query
}

func newConditionMatcher(c syntax.Condition) (conditionMatcher, error) {
	q, err := cmtquery.Compile(syntax.Query{c})
	return conditionMatcher{cond: c, q: q}, err
}

func (m conditionMatcher) matches(value string) bool {
	ok, _ := m.q.Matches(map[string][]string{m.cond.Tag: {value}})
	return ok
}

// exactValue is the one value an equality condition can match by a single prefix scan:
// a string argument, or an integer argument of tx.height / block.height (which the index
// writes in canonical decimal). Numbers of app attributes may be written "5.0" or "05",
// so they are matched value by value.
func exactValue(c syntax.Condition) (string, bool) {
	if c.Op != syntax.TEq || c.Arg == nil {
		return "", false
	}
	switch c.Arg.Type {
	case syntax.TString:
		return c.Arg.Value(), true
	case syntax.TNumber:
		if c.Tag != store.TxHeightKey && c.Tag != store.BlockHeightKey {
			return "", false
		}
		v, err := strconv.ParseInt(c.Arg.Value(), 10, 64)
		if err != nil || strconv.FormatInt(v, 10) != c.Arg.Value() {
			return "", false
		}
		return c.Arg.Value(), true
	}
	return "", false
}

func parseQuery(query string) (syntax.Query, error) {
	if len(query) > maxQueryLength {
		return nil, errors.New("maximum query length exceeded")
	}
	q, err := cmtquery.New(query)
	if err != nil {
		return nil, err
	}
	return q.Syntax(), nil
}

// ascending reads order_by: "asc", "desc" or empty (the given default).
func ascending(orderBy string, defaultAsc bool) (bool, error) {
	switch orderBy {
	case "asc":
		return true, nil
	case "desc":
		return false, nil
	case "":
		return defaultAsc, nil
	}
	return false, errors.New("expected order_by to be either `asc` or `desc` or empty")
}

// txsMatching returns, by hash, the transactions every condition selects.
func (s *Server) txsMatching(conds syntax.Query) (map[string]txPos, error) {
	var result map[string]txPos
	for _, c := range conds {
		sel, err := s.txsSelectedBy(c)
		if err != nil {
			return nil, err
		}
		if result == nil {
			result = sel
		} else {
			for h := range result {
				if _, ok := sel[h]; !ok {
					delete(result, h)
				}
			}
		}
		if len(result) == 0 {
			break // AND: nothing can come back
		}
	}
	return result, nil
}

// txsSelectedBy is one condition's selection. A transaction indexed at two heights (a
// client's duplicate that the app accepted twice) counts once, at its latest position,
// which is the one `tx` returns.
func (s *Server) txsSelectedBy(c syntax.Condition) (map[string]txPos, error) {
	sel := map[string]txPos{}
	if c.Tag == cmttypes.TxHashKey {
		return sel, s.selectTxByHash(c, sel)
	}
	m, err := newConditionMatcher(c)
	if err != nil {
		return nil, err
	}
	keep := func(e store.TxEventEntry) bool {
		if m.matches(e.Value) {
			if p, ok := sel[string(e.Hash)]; !ok || p.height < e.Height {
				sel[string(e.Hash)] = txPos{e.Height, e.Index}
			}
		}
		return true
	}
	if v, ok := exactValue(c); ok {
		err = s.Store.ScanTxEventsWithValue(c.Tag, v, keep)
	} else {
		err = s.Store.ScanTxEvents(c.Tag, keep)
	}
	return sel, err
}

// selectTxByHash answers tx.hash = 'HEX' from the hash index; tx.hash is not an event
// attribute, and other operators on it select nothing (as in CometBFT's indexer).
func (s *Server) selectTxByHash(c syntax.Condition, sel map[string]txPos) error {
	if c.Op != syntax.TEq || c.Arg == nil {
		return nil
	}
	hash, err := hex.DecodeString(c.Arg.Value())
	if err != nil || len(hash) != 32 {
		return nil
	}
	r, err := s.Store.TxByHash(hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	sel[string(hash)] = txPos{r.Height, r.Index}
	return nil
}

func (s *Server) txSearch(ctx *rpctypes.Context, query string, prove bool, pagePtr, perPagePtr *int, orderBy string) (*ctypes.ResultTxSearch, error) {
	if s.txIndexOff() {
		return nil, errIndexOff
	}
	release, err := s.searchSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	s.awaitIndex(ctx.Context())
	conds, err := parseQuery(query)
	if err != nil {
		return nil, err
	}
	asc, err := ascending(orderBy, true)
	if err != nil {
		return nil, err
	}
	found, err := s.txsMatching(conds)
	if err != nil {
		return nil, err
	}
	type hit struct {
		hash string
		pos  txPos
	}
	hits := make([]hit, 0, len(found))
	for h, p := range found {
		hits = append(hits, hit{h, p})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		c := cmpPos(a.pos, b.pos)
		if !asc {
			c = -c
		}
		return c
	})
	per := perPage(perPagePtr)
	pg, err := page(pagePtr, per, len(hits))
	if err != nil {
		return nil, err
	}
	from, to := pageBounds(pg, per, len(hits))
	res := &ctypes.ResultTxSearch{Txs: make([]*ctypes.ResultTx, 0, to-from), TotalCount: len(hits)}
	for _, h := range hits[from:to] {
		r, err := s.Store.TxByHash([]byte(h.hash))
		if err != nil {
			return nil, fmt.Errorf("failed to get Tx{%X}: %w", h.hash, err)
		}
		rt, err := s.resultTx(r, prove)
		if err != nil {
			return nil, err
		}
		res.Txs = append(res.Txs, rt)
	}
	return res, nil
}

func cmpPos(a, b txPos) int {
	if c := cmp.Compare(a.height, b.height); c != 0 {
		return c
	}
	return cmp.Compare(a.index, b.index)
}

// heightsMatching returns the heights whose FinalizeBlock events (or block.height) every
// condition selects, among the heights still stored.
func (s *Server) heightsMatching(conds syntax.Query) ([]int64, error) {
	var result map[int64]bool
	for _, c := range conds {
		m, err := newConditionMatcher(c)
		if err != nil {
			return nil, err
		}
		sel := map[int64]bool{}
		err = s.Store.ScanBlockEvents(c.Tag, func(value string, h int64) bool {
			if (result == nil || result[h]) && m.matches(value) {
				sel[h] = true
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		result = sel
		if len(result) == 0 {
			break
		}
	}
	base, latest := s.Store.Base(), s.Store.Height()
	out := make([]int64, 0, len(result))
	for h := range result {
		if h >= base && h <= latest {
			out = append(out, h)
		}
	}
	return out, nil
}

func (s *Server) blockSearch(ctx *rpctypes.Context, query string, pagePtr, perPagePtr *int, orderBy string) (*ctypes.ResultBlockSearch, error) {
	if s.txIndexOff() {
		return nil, errors.New("block indexing is disabled")
	}
	release, err := s.searchSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	s.awaitIndex(ctx.Context())
	conds, err := parseQuery(query)
	if err != nil {
		return nil, err
	}
	asc, err := ascending(orderBy, false)
	if err != nil {
		return nil, err
	}
	heights, err := s.heightsMatching(conds)
	if err != nil {
		return nil, err
	}
	slices.Sort(heights)
	if !asc {
		slices.Reverse(heights)
	}
	per := perPage(perPagePtr)
	pg, err := page(pagePtr, per, len(heights))
	if err != nil {
		return nil, err
	}
	from, to := pageBounds(pg, per, len(heights))
	res := &ctypes.ResultBlockSearch{Blocks: make([]*ctypes.ResultBlock, 0, to-from), TotalCount: len(heights)}
	for _, h := range heights[from:to] {
		b, blk, err := s.loadBlock(h)
		if err != nil {
			return nil, err
		}
		res.Blocks = append(res.Blocks, &ctypes.ResultBlock{BlockID: blockID(b.Hash), Block: blk})
	}
	return res, nil
}

// searchSlot takes one of the client's [rpc] max_searches_per_client slots.
func (s *Server) searchSlot(ctx *rpctypes.Context) (func(), error) {
	release, ok := s.searches.acquire(ctx.RemoteAddr())
	if !ok {
		return nil, fmt.Errorf("max_searches_per_client %d reached: wait for this client's searches in progress", s.searches.max)
	}
	return release, nil
}
