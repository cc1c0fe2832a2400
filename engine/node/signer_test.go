package node

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

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
