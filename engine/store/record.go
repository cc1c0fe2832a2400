package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// maxRecordBytes bounds any value the store decodes: above the largest ABCI block a chain
// can configure (CometBFT's 100 MiB MaxBytes), so a corrupt length cannot make us allocate
// without bound.
const maxRecordBytes = 128 << 20

const checksumSize = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrNotFound means the store holds no record for what was asked (never written, or
// pruned).
var ErrNotFound = errors.New("store: not found")

// ErrCorrupt is wrapped by every CorruptError.
var ErrCorrupt = errors.New("store: corrupt record")

// CorruptError names a record that failed its checksum or could not be decoded, or a
// block store that is not contiguous, with the database it lives in and what to do.
type CorruptError struct {
	File   string // the database directory
	Key    string // the record, readable ("abci/block/42"), or a height range
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("store: %s in %s: %s; the node's data is damaged: restore %s from a backup, "+
		"or move it aside and let the node resync from its peers", e.Key, e.File, e.Reason, e.File)
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// seal frames a payload for storage: CRC32C(key || payload) then the payload. Covering the
// key catches a value that ended up under another key, not only flipped bits.
func seal(key, payload []byte) []byte {
	out := make([]byte, checksumSize, checksumSize+len(payload))
	binary.BigEndian.PutUint32(out, checksum(key, payload))
	return append(out, payload...)
}

func checksum(key, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, key)
	return crc32.Update(c, castagnoli, payload)
}

// open checks a stored value against its key and returns the payload.
func (s *Store) open(key, value []byte) ([]byte, error) {
	if len(value) < checksumSize {
		return nil, s.corrupt(key, fmt.Sprintf("value of %d bytes is shorter than its checksum", len(value)))
	}
	if len(value) > maxRecordBytes+checksumSize {
		return nil, s.corrupt(key, fmt.Sprintf("value of %d bytes exceeds the %d-byte limit", len(value), maxRecordBytes))
	}
	payload := value[checksumSize:]
	want := binary.BigEndian.Uint32(value)
	if got := checksum(key, payload); got != want {
		return nil, s.corrupt(key, fmt.Sprintf("checksum mismatch (stored %08x, computed %08x)", want, got))
	}
	return payload, nil
}

// unmarshaler is what every generated message and CometBFT's proto types provide.
type unmarshaler interface{ Unmarshal([]byte) error }

// decode is the store's one decoder: checksum, size limit, then Unmarshal guarded so that a
// bug in generated code on damaged bytes is an error naming the key, never a crash.
func (s *Store) decode(key, value []byte, into unmarshaler) (err error) {
	payload, err := s.open(key, value)
	if err != nil {
		return err
	}
	return s.guard(key, func() error { return into.Unmarshal(payload) })
}

// guard runs a decoding step on checksummed bytes, turning an error or a panic into a
// CorruptError naming the key.
func (s *Store) guard(key []byte, step func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.corrupt(key, fmt.Sprintf("decoder panic: %v", r))
		}
	}()
	if err := step(); err != nil {
		return s.corrupt(key, fmt.Sprintf("undecodable: %v", err))
	}
	return nil
}

func (s *Store) corrupt(key []byte, reason string) *CorruptError {
	return &CorruptError{File: s.path, Key: describeKey(key), Reason: reason}
}
