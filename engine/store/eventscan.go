package store

import (
	"crypto/sha256"
	"strconv"
)

// TxEventEntry is one key of the transaction event index: the attribute value, where the
// transaction sits and its hash.
type TxEventEntry struct {
	Value  string
	Height int64
	Index  uint32
	Hash   []byte
}

// Widths of the fixed numeric tails of event keys: "/height(20)/index(10)" for a
// transaction, "/height(20)" for a block.
const (
	txEventTail    = 1 + 20 + 1 + 10
	blockEventTail = 1 + 20
)

// ScanTxEvents calls fn for every transaction indexed under compositeKey
// ("transfer.sender", TxHeightKey), whatever the value, in key order. Range, CONTAINS and
// EXISTS conditions of tx_search need every value of a key, not one prefix: the value sits
// between the key and the fixed-width tail, so it may itself hold '/'. fn returning false
// stops the scan.
func (s *Store) ScanTxEvents(compositeKey string, fn func(TxEventEntry) bool) error {
	keyPrefix := keyOnlyPrefix(prefixTxEvent, compositeKey)
	return s.scanTxEvents(keyPrefix, len(keyPrefix), -1, fn)
}

// ScanTxEventsWithValue is ScanTxEvents restricted to one exact value: one prefix scan.
func (s *Store) ScanTxEventsWithValue(compositeKey, value string, fn func(TxEventEntry) bool) error {
	keyPrefix := keyOnlyPrefix(prefixTxEvent, compositeKey)
	return s.scanTxEvents(eventPrefix(nil, prefixTxEvent, compositeKey, value), len(keyPrefix), len(value), fn)
}

// scanTxEvents scans every key under scan; the value starts at valueStart, and with
// valueLen >= 0 only values of that length are kept (a scan for "v" must skip "v2/...").
func (s *Store) scanTxEvents(scan []byte, valueStart, valueLen int, fn func(TxEventEntry) bool) error {
	it := s.db.NewIterator(prefixRange(scan), nil)
	defer it.Release()
	for it.Next() {
		key := it.Key()
		if len(key) < valueStart+txEventTail || (valueLen >= 0 && len(key) != valueStart+valueLen+txEventTail) {
			continue
		}
		tail := key[len(key)-txEventTail:]
		h, ok1 := parsePadded(tail[1:21])
		i, ok2 := parsePadded(tail[22:])
		if tail[0] != '/' || tail[21] != '/' || !ok1 || !ok2 || h == 0 || i > 1<<32-1 {
			continue // not an entry of this key (a longer composite key cannot share the prefix)
		}
		payload, err := s.open(key, it.Value())
		if err != nil {
			return err
		}
		if len(payload) != sha256.Size {
			return s.corrupt(key, "not a tx hash")
		}
		e := TxEventEntry{Value: string(key[valueStart : len(key)-txEventTail]), Height: int64(h), Index: uint32(i),
			Hash: append([]byte(nil), payload...)}
		if !fn(e) {
			break
		}
	}
	return it.Error()
}

// ScanBlockEvents calls fn with the value and height of every block indexed under
// compositeKey, whatever the value, in key order; fn returning false stops the scan.
func (s *Store) ScanBlockEvents(compositeKey string, fn func(value string, height int64) bool) error {
	keyPrefix := keyOnlyPrefix(prefixBlockEvent, compositeKey)
	it := s.db.NewIterator(prefixRange(keyPrefix), nil)
	defer it.Release()
	for it.Next() {
		key := it.Key()
		if len(key) < len(keyPrefix)+blockEventTail || key[len(key)-blockEventTail] != '/' {
			continue
		}
		payload, err := s.open(key, it.Value())
		if err != nil {
			return err
		}
		h, ok := parseHeightValue(payload)
		if !ok {
			return s.corrupt(key, "not a height")
		}
		if !fn(string(key[len(keyPrefix):len(key)-blockEventTail]), h) {
			break
		}
	}
	return it.Error()
}

// keyOnlyPrefix is "prefix type.key/": every value of one composite key.
func keyOnlyPrefix(prefix []byte, compositeKey string) []byte {
	k := append(append([]byte(nil), prefix...), compositeKey...)
	return append(k, '/')
}

// parsePadded reads a zero-padded decimal field of an event key.
func parsePadded(b []byte) (uint64, bool) {
	v, err := strconv.ParseUint(string(b), 10, 64)
	return v, err == nil
}
