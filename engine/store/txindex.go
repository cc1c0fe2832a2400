package store

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Composite keys CometBFT indexes every transaction and every block under.
const (
	TxHeightKey    = "tx.height"
	BlockHeightKey = "block.height"
)

// indexTxs adds a height's transaction index entries to its batch: by hash, the
// transaction with its result (what the RPC's `tx` returns); by event, the hash, under
// "type.key/value/height/index" for every attribute marked index=true and for tx.height.
func indexTxs(batch *sealedBatch, h int64, txs [][]byte, results []*abci.ExecTxResult) error {
	seen := make(map[[sha256.Size]byte]bool, len(txs))
	heightText := strconv.FormatInt(h, 10)
	for i, tx := range txs {
		hash := sha256.Sum256(tx)
		if seen[hash] {
			continue // ordering dedupes txs; should one repeat, its first position is indexed
		}
		seen[hash] = true
		rec := abci.TxResult{Height: h, Index: uint32(i), Tx: tx, Result: *results[i]}
		batch.key = append(append(batch.key[:0], prefixTxHash...), hash[:]...)
		if err := batch.putMsg(batch.key, &rec); err != nil {
			return fmt.Errorf("store: marshal tx %d of height %d: %w", i, h, err)
		}
		batch.key = eventKey(batch.key[:0], TxHeightKey, heightText, h, uint32(i))
		batch.put(batch.key, hash[:])
		for _, ev := range rec.Result.Events {
			for _, attr := range ev.Attributes {
				if composite, ok := indexedKey(ev.Type, attr); ok {
					batch.key = eventKey(batch.key[:0], composite, attr.Value, h, uint32(i))
					batch.put(batch.key, hash[:])
				}
			}
		}
	}
	return nil
}

// indexBlockEvents adds FinalizeBlock's own events (not its txs') and block.height to the
// height's batch, for block_search.
func indexBlockEvents(batch *sealedBatch, h int64, events []abci.Event) {
	value := heightValue(h)
	batch.put(blockEventKey(BlockHeightKey, fmt.Sprint(h), h), value)
	for _, ev := range events {
		for _, attr := range ev.Attributes {
			if composite, ok := indexedKey(ev.Type, attr); ok {
				batch.put(blockEventKey(composite, attr.Value, h), value)
			}
		}
	}
}

// indexedKey is "type.key" for an attribute marked index=true. The layout splits on '/',
// so a composite key holding one would be ambiguous and is not indexed.
func indexedKey(typ string, attr abci.EventAttribute) (string, bool) {
	if !attr.Index || typ == "" || attr.Key == "" {
		return "", false
	}
	composite := typ + "." + attr.Key
	return composite, !strings.ContainsRune(composite, '/')
}

// TxByHash returns an indexed transaction with its height, index and result; hash is
// sha256 of the transaction's bytes.
func (s *Store) TxByHash(hash []byte) (*abci.TxResult, error) {
	if len(hash) != sha256.Size {
		return nil, fmt.Errorf("store: tx hash of %d bytes, want %d", len(hash), sha256.Size)
	}
	var r abci.TxResult
	key := hashKey(prefixTxHash, hash)
	if err := s.get(key, &r); err != nil {
		return nil, err
	}
	if got := sha256.Sum256(r.Tx); string(got[:]) != string(hash) {
		return nil, s.corrupt(key, "holds a transaction with another hash")
	}
	return &r, nil
}

// TxHashesByEvent returns the hashes of transactions indexed under compositeKey=value
// (e.g. "transfer.sender", "alice"; or TxHeightKey, "5"), oldest first, at most limit.
// It is the primitive a tx_search builds on.
func (s *Store) TxHashesByEvent(compositeKey, value string, limit int) ([][]byte, error) {
	prefix := eventPrefix(nil, prefixTxEvent, compositeKey, value)
	it := s.db.NewIterator(prefixRange(prefix), nil)
	defer it.Release()
	var out [][]byte
	for it.Next() && len(out) < limit {
		// The rest of the key must be exactly height/index, or this is a longer value.
		if rest := it.Key()[len(prefix):]; len(rest) != 20+1+10 || rest[20] != '/' {
			continue
		}
		payload, err := s.open(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		if len(payload) != sha256.Size {
			return nil, s.corrupt(it.Key(), "not a tx hash")
		}
		out = append(out, append([]byte(nil), payload...))
	}
	return out, it.Error()
}

// HeightsByEvent returns the heights whose FinalizeBlock events hold compositeKey=value
// (or BlockHeightKey, "5"), lowest first, at most limit: the primitive of block_search.
func (s *Store) HeightsByEvent(compositeKey, value string, limit int) ([]int64, error) {
	prefix := eventPrefix(nil, prefixBlockEvent, compositeKey, value)
	it := s.db.NewIterator(prefixRange(prefix), nil)
	defer it.Release()
	var out []int64
	for it.Next() && len(out) < limit {
		if len(it.Key())-len(prefix) != 20 {
			continue // a longer value sharing this prefix
		}
		payload, err := s.open(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		h, ok := parseHeightValue(payload)
		if !ok {
			return nil, s.corrupt(it.Key(), "not a height")
		}
		out = append(out, h)
	}
	return out, it.Error()
}

func heightValue(h int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(h)) }

func parseHeightValue(b []byte) (int64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	h := int64(binary.BigEndian.Uint64(b))
	return h, h > 0
}
