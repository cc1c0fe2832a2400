package store

import (
	"errors"
	"math/rand"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Any bytes that pass the checksum (a bug writing garbage, or an attacker with disk
// access) decode to a value or a CorruptError, never a panic.
func FuzzDecodeSealedPayload(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add(mustMarshal(f, abciBlockToProto(executedHeight(1, 2, 8, rand.New(rand.NewSource(1))).Block)))
	s := &Store{path: "fuzz.db"}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, into := range []unmarshaler{&ABCIBlockProto{}, &ResultProto{}, &abci.ResponseFinalizeBlock{},
			&ValidatorSetsProto{}, &GenesisProto{}, &abci.TxResult{}} {
			key := heightKey(prefixABCIBlock, 1)
			if err := s.decode(key, seal(key, payload), into); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode error is not a CorruptError: %v", err)
			}
		}
		if _, err := unmarshalValidatorSetGuarded(s, payload); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("validator set error is not a CorruptError: %v", err)
		}
	})
}

func unmarshalValidatorSetGuarded(s *Store, bz []byte) (n int, err error) {
	return 0, s.guard(keyGenesis, func() error { _, err := unmarshalValidatorSet(bz); return err })
}

func TestChecksumCoversTheKey(t *testing.T) {
	s := &Store{path: "t.db"}
	a, b := heightKey(prefixABCIResult, 1), heightKey(prefixABCIResult, 2)
	if _, err := s.open(b, seal(a, []byte("result of 1"))); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a value moved to another key passed its checksum: %v", err)
	}
	if _, err := s.open(a, []byte{1, 2}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a value shorter than its checksum: %v", err)
	}
}

func mustMarshal(f *testing.F, m marshaler) []byte {
	bz, err := m.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	return bz
}
