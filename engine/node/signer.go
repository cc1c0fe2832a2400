package node

import (
	"errors"
	"fmt"
	"os"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"

	"github.com/tutti-bft/tutti/engine/types"
)

// PrivValSigner signs DAG blocks with cometbft's file signer (priv_validator_key.json and
// priv_validator_state.json). A block is signed as CometBFT's canonical proposal at height
// = DAG round (types.SignBytes), so privval's watermark refuses any round at or below one
// it signed, across restarts and epochs alike.
type PrivValSigner struct {
	pv *privval.FilePV
}

// LoadPrivValSigner opens the key and state files. cometbft's loader exits the process on
// a bad file, so both are checked first and a bad one is an error naming it.
func LoadPrivValSigner(keyFile, stateFile string) (*PrivValSigner, error) {
	var key privval.FilePVKey
	if err := checkJSON(keyFile, &key); err != nil {
		return nil, err
	}
	if err := checkValidatorKey(keyFile, key); err != nil {
		return nil, err
	}
	if err := checkJSON(stateFile, &privval.FilePVLastSignState{}); err != nil {
		return nil, err
	}
	return &PrivValSigner{pv: privval.LoadFilePV(keyFile, stateFile)}, nil
}

// checkValidatorKey refuses a key file validators cannot sign with: a key of another type
// than ed25519, of the wrong length, or a public key that is not the private key's. Such a
// node would start, follow the chain outside the validator set and never say so.
func checkValidatorKey(path string, key privval.FilePVKey) error {
	if key.PrivKey == nil || key.PubKey == nil {
		return fmt.Errorf("%s lacks its priv_key or pub_key (create a key with `tutti init` on an empty home)", path)
	}
	if key.PrivKey.Type() != ed25519.KeyType || len(key.PrivKey.Bytes()) != ed25519.PrivateKeySize {
		return fmt.Errorf("%s holds a %s private key of %d bytes: validators sign with %s keys of %d bytes (create one with `tutti init` on an empty home)",
			path, key.PrivKey.Type(), len(key.PrivKey.Bytes()), ed25519.KeyType, ed25519.PrivateKeySize)
	}
	if err := types.CheckValidatorKey(key.PubKey.Type(), key.PubKey.Bytes()); err != nil {
		return fmt.Errorf("%s: its pub_key is %w", path, err)
	}
	if !key.PrivKey.PubKey().Equals(key.PubKey) {
		return fmt.Errorf("%s: its pub_key is not the public key of its priv_key; restore the file from your backup", path)
	}
	return nil
}

func checkJSON(path string, into any) error {
	bz, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w (create it with `tutti init`)", path, err)
	}
	if err := cmtjson.Unmarshal(bz, into); err != nil {
		return fmt.Errorf("%s is not a valid privval file: %w", path, err)
	}
	return nil
}

// PubKey implements types.Signer.
func (s *PrivValSigner) PubKey() []byte { return s.pv.Key.PubKey.Bytes() }

// SignBlock implements types.Signer. privval persists its new watermark (synced) before it
// returns the signature, so a signature never exists that a restart could sign again.
func (s *PrivValSigner) SignBlock(chainID string, round uint64, digest types.Digest) ([]byte, error) {
	p := types.SignProposal(round, digest)
	want := p.Timestamp
	if err := s.pv.SignProposal(chainID, p); err != nil {
		return nil, errors.Join(types.ErrDoubleSign, err)
	}
	if !p.Timestamp.Equal(want) {
		// privval answered with an earlier signature for this round (it does so when only
		// the timestamp differs); our timestamp is fixed, so this is not our block's.
		return nil, fmt.Errorf("%w: privval returned an earlier signature for round %d", types.ErrDoubleSign, round)
	}
	crashpoint("sign")
	return p.Signature, nil
}

// LastSignedRound is the DAG round privval last signed (0 when none).
func (s *PrivValSigner) LastSignedRound() uint64 {
	if s.pv.LastSignState.Height < 0 {
		return 0
	}
	return uint64(s.pv.LastSignState.Height)
}
