package state

import (
	"testing"

	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// FuzzVerifyAccountProof feeds arbitrary bytes, as a node could send them,
// through the proof decoder and verifier: an error or a verified proof, never
// a panic, and never a verified proof for the wrong root.
func FuzzVerifyAccountProof(f *testing.F) {
	dir := f.TempDir()
	s, err := Open(dir, DefaultOptions())
	if err != nil {
		f.Fatal(err)
	}
	addr := tx.AddressFromPubKey([]byte("fuzz"))
	accounts := map[tx.Address]Account{addr: {Balance: 9, Nonce: 1}}
	for i := 0; i < 8; i++ {
		accounts[tx.AddressFromPubKey([]byte{byte(i)})] = Account{Balance: uint64(i)}
	}
	appHash, err := s.Stage(1, accounts)
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		f.Fatal(err)
	}
	acc, proof, _, err := s.AccountAt(1, addr)
	if err != nil {
		f.Fatal(err)
	}
	s.Close()
	good, _ := proof.Marshal()
	f.Add(good)
	f.Add([]byte{0x0a, 0x20})
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := DecodeProof(raw)
		if err != nil {
			return
		}
		if VerifyAccount(appHash, addr, acc, p) == nil {
			// Only an encoding of the genuine proof may verify.
			again, _ := p.Marshal()
			if string(again) != string(good) {
				t.Fatalf("a different proof verified: %x", raw)
			}
		}
		var wrongRoot [32]byte
		if VerifyAccount(wrongRoot[:], addr, acc, p) == nil {
			t.Fatal("proof verified against a zero root")
		}
	})
}
