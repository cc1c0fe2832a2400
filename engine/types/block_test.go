package types

import (
	"bytes"
	"errors"
	"testing"
)

func sampleBlock() *Block {
	return &Block{Epoch: 1, Round: 7, Author: 2, TimeMs: 1234,
		Parents:     []Ref{{Author: 2, Round: 6, Digest: Digest{1}}, {Author: 0, Round: 6, Digest: Digest{2}}},
		Txs:         [][]byte{[]byte("a"), []byte("bb")},
		Attestation: &Attestation{ChainID: "c", Height: 3, BlockHash: []byte{9}, AppHash: []byte{8}}}
}

func TestDigestIgnoresSignatureAndCoversContent(t *testing.T) {
	a, b := sampleBlock(), sampleBlock()
	b.Signature = []byte("sig")
	if a.Digest() != b.Digest() {
		t.Fatal("the signature must not change the digest")
	}
	c := sampleBlock()
	c.Txs[1] = []byte("bc")
	if a.Digest() == c.Digest() {
		t.Fatal("a payload change must change the digest")
	}
	p := a.ToProto()
	back, err := BlockFromProto(&p)
	if err != nil || back.Digest() != a.Digest() {
		t.Fatalf("proto round trip changed the digest: %v", err)
	}
}

func TestSignAndVerify(t *testing.T) {
	s := NewMemSigner([]byte("k"))
	c, err := NewCommittee([]Validator{{PubKey: []byte("x"), Power: 1}, {PubKey: []byte("y"), Power: 1}, {PubKey: s.PubKey(), Power: 1}})
	if err != nil {
		t.Fatal(err)
	}
	b := sampleBlock()
	if err := b.Sign("chain", s); err != nil {
		t.Fatal(err)
	}
	if err := b.VerifySignature("chain", c, Ed25519Verifier{}); err != nil {
		t.Fatal(err)
	}
	if err := b.VerifySignature("other-chain", c, Ed25519Verifier{}); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("a signature must bind the chain id, got %v", err)
	}
	b2 := sampleBlock()
	b2.Signature = b.Signature
	b2.TimeMs++
	if err := b2.VerifySignature("chain", c, Ed25519Verifier{}); !errors.Is(err, ErrBadSignature) {
		t.Fatal("a changed block must not verify")
	}
}

func TestMemSignerRefusesToSignARoundTwice(t *testing.T) {
	s := NewMemSigner([]byte("k"))
	if _, err := s.SignBlock("chain", 5, Digest{'a'}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []uint64{5, 4} {
		if _, err := s.SignBlock("chain", r, Digest{'b'}); !errors.Is(err, ErrDoubleSign) {
			t.Fatalf("round %d signed again: %v", r, err)
		}
	}
	if _, err := s.SignBlock("chain", 6, Digest{'c'}); err != nil {
		t.Fatal(err)
	}
}

func TestEquivocationEvidence(t *testing.T) {
	s := NewMemSigner([]byte("k"))
	c, _ := NewCommittee([]Validator{{PubKey: s.PubKey(), Power: 1}})
	a, b := sampleBlock(), sampleBlock()
	a.Author, b.Author = 0, 0
	b.TimeMs++
	a.Signature = s.SignAnyway(SignBytes("chain", a.Round, a.Digest()))
	b.Signature = s.SignAnyway(SignBytes("chain", b.Round, b.Digest()))
	e1, e2 := NewEquivocation(a, b), NewEquivocation(b, a)
	if e1.DigestA != e2.DigestA || !bytes.Equal(e1.SignatureA, e2.SignatureA) {
		t.Fatal("evidence must not depend on the order the blocks were seen")
	}
	if err := e1.Verify("chain", c, Ed25519Verifier{}); err != nil {
		t.Fatal(err)
	}
	e1.SignatureB = e1.SignatureA
	if err := e1.Verify("chain", c, Ed25519Verifier{}); err == nil {
		t.Fatal("evidence with a wrong signature verified")
	}
	same := NewEquivocation(a, a)
	if err := same.Verify("chain", c, Ed25519Verifier{}); err == nil {
		t.Fatal("one block twice is no equivocation")
	}
}

func TestShapeLimits(t *testing.T) {
	l := DefaultBlockLimits()
	l.MaxTxs, l.MaxTxBytes, l.MaxPayloadBytes = 2, 2, 3
	b := sampleBlock()
	if err := l.CheckShape(b); err != nil {
		t.Fatal(err)
	}
	b.Txs = append(b.Txs, []byte("c"))
	if l.CheckShape(b) == nil {
		t.Fatal("too many txs accepted")
	}
	b.Txs = [][]byte{[]byte("abc")}
	if l.CheckShape(b) == nil {
		t.Fatal("oversize tx accepted")
	}
	b.Txs = [][]byte{{}}
	if l.CheckShape(b) == nil {
		t.Fatal("empty tx accepted")
	}
}
