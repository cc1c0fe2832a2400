package state

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/tutti-bft/tutti/app/ledger/smt"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// ProofOpType names the ledger's proof in an ABCI ProofOp.
const ProofOpType = "ledger:smt"

// maxProofBytes bounds an encoded proof: 256 siblings of 34 bytes and a leaf.
const maxProofBytes = 256*34 + 128

func proofToRecord(p smt.Proof) *Proof {
	out := &Proof{Siblings: make([][]byte, len(p.Siblings))}
	for i, s := range p.Siblings {
		out.Siblings[i] = append([]byte(nil), s[:]...)
	}
	if p.Leaf != nil {
		addr, acc, err := decodeLeafValue(p.Leaf.Value)
		if err == nil {
			out.Leaf = &AccountRecord{Address: addr[:], Balance: acc.Balance, Nonce: acc.Nonce}
		}
	}
	return out
}

// DecodeProof is the size-limited decoder for proofs arriving from a node.
func DecodeProof(raw []byte) (*Proof, error) {
	if len(raw) > maxProofBytes {
		return nil, fmt.Errorf("proof is %d bytes, limit %d", len(raw), maxProofBytes)
	}
	var p Proof
	if err := p.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("proof does not decode: %w", err)
	}
	return &p, nil
}

// VerifyAccount checks that proof shows addr holding acc under appHash (the
// app hash committed for the queried height). An address with no account is
// proven to hold the zero Account.
func VerifyAccount(appHash []byte, addr tx.Address, acc Account, p *Proof) error {
	if len(appHash) != 32 {
		return fmt.Errorf("app hash must be 32 bytes, got %d", len(appHash))
	}
	if p == nil {
		return errors.New("no proof")
	}
	sp := smt.Proof{Siblings: make([]smt.Hash, len(p.Siblings))}
	for i, s := range p.Siblings {
		if len(s) != 32 {
			return fmt.Errorf("proof sibling %d is %d bytes", i, len(s))
		}
		copy(sp.Siblings[i][:], s)
	}
	if p.Leaf != nil {
		leafAddr, err := tx.AddressFromBytes(p.Leaf.Address)
		if err != nil {
			return fmt.Errorf("proof leaf: %w", err)
		}
		sp.Leaf = &smt.KV{Key: smt.KeyHash(leafAddr[:]), Value: leafValue(leafAddr, Account{Balance: p.Leaf.Balance, Nonce: p.Leaf.Nonce})}
	}
	var root smt.Hash
	copy(root[:], appHash)
	val, err := smt.Verify(root, smt.KeyHash(addr[:]), sp)
	if err != nil {
		return err
	}
	want := Account{}
	if val != nil {
		leafAddr, proven, err := decodeLeafValue(val)
		if err != nil {
			return err
		}
		if !bytes.Equal(leafAddr[:], addr[:]) {
			return errors.New("proof is for another address")
		}
		want = proven
	}
	if want != acc {
		return fmt.Errorf("proof shows balance %d nonce %d, response claims balance %d nonce %d", want.Balance, want.Nonce, acc.Balance, acc.Nonce)
	}
	return nil
}
