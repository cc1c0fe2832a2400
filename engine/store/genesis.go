package store

import (
	"bytes"
	"errors"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"
)

// Genesis is what InitChain fixed for this chain.
type Genesis struct {
	AppHash    []byte
	Validators *cmttypes.ValidatorSet
}

// SaveGenesis stores InitChain's app hash and initial validator set, synced. It is written
// once: saving the same genesis again is a no-op, a different one an error (the node
// would otherwise start a second chain on the first one's data).
func (s *Store) SaveGenesis(g Genesis) error {
	if g.Validators == nil {
		return errors.New("store: genesis without validators")
	}
	vals, err := marshalValidatorSet(g.Validators)
	if err != nil {
		return fmt.Errorf("store: genesis validators: %w", err)
	}
	bz, err := (&GenesisProto{AppHash: g.AppHash, Validators: vals}).Marshal()
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var stored GenesisProto
	switch err := s.get(keyGenesis, &stored); {
	case err == nil:
		if !bytes.Equal(stored.AppHash, g.AppHash) || !bytes.Equal(stored.Validators, vals) {
			return fmt.Errorf("store: %s already holds a different genesis (app hash %X, not %X)", s.path, stored.AppHash, g.AppHash)
		}
		return nil
	case !errors.Is(err, ErrNotFound):
		return err
	}
	return s.db.Put(keyGenesis, seal(keyGenesis, bz), syncWrite)
}

// Genesis returns the stored genesis, or ErrNotFound.
func (s *Store) Genesis() (Genesis, error) {
	var p GenesisProto
	if err := s.get(keyGenesis, &p); err != nil {
		return Genesis{}, err
	}
	g := Genesis{AppHash: p.AppHash}
	err := s.guard(keyGenesis, func() (err error) {
		g.Validators, err = unmarshalValidatorSet(p.Validators)
		return err
	})
	return g, err
}
