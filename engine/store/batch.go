package store

import (
	"encoding/binary"
	"slices"

	"github.com/syndtr/goleveldb/leveldb"
)

// sealedBatch builds one goleveldb batch of checksummed records. goleveldb copies every
// key and value into the batch, so one scratch buffer for values and one for keys serve
// all the records of a height (thousands, with the tx index) without an allocation each.
type sealedBatch struct {
	leveldb.Batch
	value, key []byte
}

func newSealedBatch(capacity int) *sealedBatch {
	return &sealedBatch{Batch: *leveldb.MakeBatch(capacity)}
}

// sizedMarshaler is what gogoproto generates for every message, CometBFT's included.
type sizedMarshaler interface {
	Size() int
	MarshalToSizedBuffer([]byte) (int, error)
}

// put adds a sealed record.
func (b *sealedBatch) put(key, payload []byte) {
	b.value = append(append(b.value[:0], 0, 0, 0, 0), payload...)
	binary.BigEndian.PutUint32(b.value, checksum(key, payload))
	b.Batch.Put(key, b.value)
}

// putMsg marshals m straight behind the checksum's place and adds the sealed record.
func (b *sealedBatch) putMsg(key []byte, m sizedMarshaler) error {
	n := checksumSize + m.Size()
	b.value = slices.Grow(b.value[:0], n)[:n]
	if _, err := m.MarshalToSizedBuffer(b.value[checksumSize:]); err != nil {
		return err
	}
	binary.BigEndian.PutUint32(b.value, checksum(key, b.value[checksumSize:]))
	b.Batch.Put(key, b.value)
	return nil
}
