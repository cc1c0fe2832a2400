package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/types"
)

// TestBlockSignBytesAreCometBFTProposalSignBytes: a DAG block's sign bytes are exactly
// cometbft's canonical proposal bytes for height = round, so privval (and remote signers
// speaking its protocol) sign them under their double-sign rules.
func TestBlockSignBytesAreCometBFTProposalSignBytes(t *testing.T) {
	d := types.Digest{1, 2, 3}
	p := types.SignProposal(42, d)
	want := cmttypes.ProposalSignBytes("chain-x", p)
	if got := types.SignBytes("chain-x", 42, d); !bytes.Equal(got, want) {
		t.Fatalf("sign bytes\n got %X\nwant %X", got, want)
	}
}

// TestPrivValSignerNeverSignsARoundTwice: blocks signed through the file signer verify as
// the author's; a second block for a signed round, or any lower round, is refused, also
// by a signer reloaded from the files (a restarted node); a higher round is signed.
func TestPrivValSignerNeverSignsARoundTwice(t *testing.T) {
	dir := t.TempDir()
	keyFile, stateFile := filepath.Join(dir, "key.json"), filepath.Join(dir, "state.json")
	privval.GenFilePV(keyFile, stateFile).Save()
	s, err := LoadPrivValSigner(keyFile, stateFile)
	if err != nil {
		t.Fatal(err)
	}
	committee, err := types.NewCommittee([]types.Validator{{PubKey: s.PubKey(), Power: 1}})
	if err != nil {
		t.Fatal(err)
	}
	b := &types.Block{Epoch: 1, Round: 7, Author: 0, TimeMs: 1000}
	if err := b.Sign("chain-x", s); err != nil {
		t.Fatal(err)
	}
	if err := b.VerifySignature("chain-x", committee, types.Ed25519Verifier{}); err != nil {
		t.Fatalf("a privval-signed block does not verify: %v", err)
	}
	// Signing the very same block again gives the same signature (a retry is harmless).
	if sig, err := s.SignBlock("chain-x", 7, b.Digest()); err != nil || !bytes.Equal(sig, b.Signature) {
		t.Fatalf("re-signing the same block: %v", err)
	}
	other := &types.Block{Epoch: 1, Round: 7, Author: 0, TimeMs: 2000}
	if err := other.Sign("chain-x", s); !errors.Is(err, types.ErrDoubleSign) {
		t.Fatalf("a second block for round 7 was signed: %v", err)
	}
	reloaded, err := LoadPrivValSigner(keyFile, stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if reloaded.LastSignedRound() != 7 {
		t.Fatalf("reloaded watermark %d, want 7", reloaded.LastSignedRound())
	}
	for _, r := range []uint64{7, 6} {
		if _, err := reloaded.SignBlock("chain-x", r, types.Digest{9}); !errors.Is(err, types.ErrDoubleSign) {
			t.Fatalf("after a restart, round %d was signed again: %v", r, err)
		}
	}
	if _, err := reloaded.SignBlock("chain-x", 8, types.Digest{9}); err != nil {
		t.Fatalf("round 8: %v", err)
	}
}

// TestBadPrivValFileIsAnErrorNamingIt: cometbft's loader exits the process on a bad file;
// the node checks first and reports the file instead.
func TestBadPrivValFileIsAnErrorNamingIt(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "missing.json")
	if _, err := LoadPrivValSigner(keyFile, filepath.Join(dir, "state.json")); err == nil || !bytes.Contains([]byte(err.Error()), []byte(keyFile)) {
		t.Fatalf("error %v does not name %s", err, keyFile)
	}
}

// A key file validators cannot sign with is refused, naming the file: both types turned
// secp256k1 over the ed25519 bytes, a short key, a public key that is not the private
// key's. Each used to start a node that silently followed the chain as a non-validator.
func TestAValidatorKeyOfTheWrongTypeOrSizeIsRefused(t *testing.T) {
	dir := t.TempDir()
	keyFile, stateFile := filepath.Join(dir, "key.json"), filepath.Join(dir, "state.json")
	privval.GenFilePV(keyFile, stateFile).Save()
	good, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	other := privval.GenFilePV(filepath.Join(dir, "k2.json"), filepath.Join(dir, "s2.json"))
	otherPub, err := cmtjson.Marshal(other.Key.PubKey)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		PubKey json.RawMessage `json:"pub_key"`
	}
	if err := json.Unmarshal(good, &parsed); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(string) string{
		"secp256k1 types": func(s string) string {
			s = strings.ReplaceAll(s, "tendermint/PrivKeyEd25519", "tendermint/PrivKeySecp256k1")
			return strings.ReplaceAll(s, "tendermint/PubKeyEd25519", "tendermint/PubKeySecp256k1")
		},
		"short public key": func(s string) string {
			return strings.Replace(s, string(parsed.PubKey), `{"type":"tendermint/PubKeyEd25519","value":"AAAA"}`, 1)
		},
		"another key's public key": func(s string) string {
			return strings.Replace(s, string(parsed.PubKey), string(otherPub), 1)
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			bad := edit(string(good))
			if bad == string(good) {
				t.Fatal("the edit did not apply")
			}
			if err := os.WriteFile(keyFile, []byte(bad), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadPrivValSigner(keyFile, stateFile)
			if err == nil || !strings.Contains(err.Error(), keyFile) {
				t.Fatalf("got %v, want an error naming %s", err, keyFile)
			}
			t.Log(err)
		})
	}
}
