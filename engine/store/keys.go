package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tutti-bft/tutti/engine/types"
)

// Key prefixes. Numbers inside keys are fixed-width big-endian (decimal, zero-padded, in
// the event index) so that byte order is numeric order and ranges are prefix scans.
var (
	prefixDAG         = []byte("dag/")           // epoch(8) round(8) author(4) digest(32)
	keyCommitState    = []byte("core/commit")    // the ordering progress
	keyGenesis        = []byte("genesis")        // InitChain's app hash and validators
	prefixABCIBlock   = []byte("abci/block/")    // height(8)
	prefixABCIResult  = []byte("abci/result/")   // height(8)
	prefixABCIResp    = []byte("abci/response/") // height(8)
	prefixABCIValSets = []byte("abci/valsets/")  // height(8)
	prefixABCIHash    = []byte("abci/hash/")     // block hash
	prefixTxHash      = []byte("tx/hash/")       // sha256(tx)
	prefixTxEvent     = []byte("tx/event/")      // type.key/value/height(20)/index(10)
	prefixBlockEvent  = []byte("block/event/")   // type.key/value/height(20)
)

// heightPrefixes are the records every stored height has, written in one batch.
var heightPrefixes = [][]byte{prefixABCIBlock, prefixABCIResult, prefixABCIResp, prefixABCIValSets}

const dagKeyLen = 8 + 8 + 4 + types.DigestSize

func dagKey(epoch, round uint64, author int, d types.Digest) []byte {
	k := make([]byte, 0, len(prefixDAG)+dagKeyLen)
	k = append(k, prefixDAG...)
	k = binary.BigEndian.AppendUint64(k, epoch)
	k = binary.BigEndian.AppendUint64(k, round)
	k = binary.BigEndian.AppendUint32(k, uint32(author))
	return append(k, d[:]...)
}

// dagBound is the first key of slot (epoch, round): everything below it is older.
func dagBound(epoch, round uint64) []byte {
	k := append([]byte(nil), prefixDAG...)
	k = binary.BigEndian.AppendUint64(k, epoch)
	return binary.BigEndian.AppendUint64(k, round)
}

func heightKey(prefix []byte, h int64) []byte {
	k := make([]byte, 0, len(prefix)+8)
	k = append(k, prefix...)
	return binary.BigEndian.AppendUint64(k, uint64(h))
}

// parseHeight reads the height of a key under prefix; ok is false for a malformed key.
func parseHeight(prefix, key []byte) (int64, bool) {
	if len(key) != len(prefix)+8 || !bytes.HasPrefix(key, prefix) {
		return 0, false
	}
	h := binary.BigEndian.Uint64(key[len(prefix):])
	if h == 0 || h > 1<<62 {
		return 0, false
	}
	return int64(h), true
}

func hashKey(prefix, hash []byte) []byte {
	return append(append(make([]byte, 0, len(prefix)+len(hash)), prefix...), hash...)
}

// eventKey is CometBFT's kv-indexer layout: "type.key/value/height/index".
// It appends to k, so a batch can build every key in one buffer.
func eventKey(k []byte, compositeKey, value string, height int64, index uint32) []byte {
	k = eventPrefix(k, prefixTxEvent, compositeKey, value)
	k = appendPadded(k, uint64(height), 20)
	k = append(k, '/')
	return appendPadded(k, uint64(index), 10)
}

// eventPrefix appends "prefix type.key/value/", the scan prefix of one attribute value.
func eventPrefix(k, prefix []byte, compositeKey, value string) []byte {
	k = append(k, prefix...)
	k = append(append(k, compositeKey...), '/')
	return append(append(k, value...), '/')
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(k []byte, v uint64, width int) []byte {
	var digits [20]byte
	i := len(digits)
	for ; v > 0 || i == len(digits); v /= 10 {
		i--
		digits[i] = byte('0' + v%10)
	}
	for n := len(digits) - i; n < width; n++ {
		k = append(k, '0')
	}
	return append(k, digits[i:]...)
}

// blockEventKey indexes a FinalizeBlock event: "type.key/value/height".
func blockEventKey(compositeKey, value string, height int64) []byte {
	k := eventPrefix(make([]byte, 0, len(prefixBlockEvent)+len(compositeKey)+len(value)+2+20), prefixBlockEvent, compositeKey, value)
	return appendPadded(k, uint64(height), 20)
}

// prefixEnd is the first key after every key starting with prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// describeKey renders a key for an error message.
func describeKey(k []byte) string {
	for _, p := range heightPrefixes {
		if h, ok := parseHeight(p, k); ok {
			return fmt.Sprintf("%s%d", p, h)
		}
	}
	switch {
	case bytes.HasPrefix(k, prefixDAG) && len(k) == len(prefixDAG)+dagKeyLen:
		r := k[len(prefixDAG):]
		return fmt.Sprintf("dag/epoch %d/round %d/author %d/%X", binary.BigEndian.Uint64(r),
			binary.BigEndian.Uint64(r[8:]), binary.BigEndian.Uint32(r[16:]), r[20:24])
	case bytes.HasPrefix(k, prefixABCIHash), bytes.HasPrefix(k, prefixTxHash):
		i := strings.LastIndexByte(string(k), '/')
		return string(k[:i+1]) + strings.ToUpper(hex.EncodeToString(k[i+1:]))
	case bytes.HasPrefix(k, prefixTxEvent), bytes.HasPrefix(k, prefixBlockEvent), bytes.Equal(k, keyGenesis), bytes.Equal(k, keyCommitState), bytes.Equal(k, keyIndexed):
		return string(k)
	}
	return fmt.Sprintf("%q", k)
}
