package types

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"
)

// TestValidatorSetHashIsCometBFTs: the core compares committees with the hash a quorum
// attested, which the executor computes with CometBFT; both must agree for any order and
// equal powers (ties broken by address).
func TestValidatorSetHashIsCometBFTs(t *testing.T) {
	var vals []Validator
	var cmt []*cmttypes.Validator
	for i, p := range []int64{5, 10, 10, 1, 7, 10} {
		pk := ed25519.GenPrivKeyFromSecret([]byte(fmt.Sprintf("v%d", i))).PubKey()
		vals = append(vals, Validator{PubKey: pk.Bytes(), Power: p})
		cmt = append(cmt, cmttypes.NewValidator(pk, p))
	}
	want := cmttypes.NewValidatorSet(cmt).Hash()
	if got := ValidatorSetHash(vals); !bytes.Equal(got, want) {
		t.Fatalf("hash %X, CometBFT's %X", got, want)
	}
	reversed := make([]Validator, len(vals))
	for i, v := range vals {
		reversed[len(vals)-1-i] = v
	}
	if !bytes.Equal(ValidatorSetHash(reversed), want) {
		t.Fatal("the hash depends on the input order")
	}
	c, err := NewCommittee(vals)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Hash(), want) {
		t.Fatal("committee hash differs")
	}
}

// TestSuccessorKeepsMembersInOrder: staying members keep their relative order with their
// new powers, removed ones leave, newcomers follow sorted by key, whatever the set's order.
func TestSuccessorKeepsMembersInOrder(t *testing.T) {
	key := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	old, err := NewCommittee([]Validator{{key(9), 1}, {key(3), 1}, {key(5), 1}})
	if err != nil {
		t.Fatal(err)
	}
	next, err := old.Successor([]Validator{{key(8), 4}, {key(5), 2}, {key(1), 6}, {key(9), 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Validator{{key(9), 1}, {key(5), 2}, {key(1), 6}, {key(8), 4}}
	if len(next.Validators) != len(want) {
		t.Fatalf("got %d validators, want %d", len(next.Validators), len(want))
	}
	for i, v := range want {
		if !bytes.Equal(next.Validators[i].PubKey, v.PubKey) || next.Validators[i].Power != v.Power {
			t.Fatalf("validator %d: %X/%d, want %X/%d", i, next.Validators[i].PubKey[:1], next.Validators[i].Power, v.PubKey[:1], v.Power)
		}
	}
	if next.IndexOf(key(3)) != -1 || next.IndexOf(key(8)) != 3 {
		t.Fatal("IndexOf")
	}
	if _, err := old.Successor([]Validator{{key(1), 1}, {key(1), 2}}); err == nil {
		t.Fatal("a key listed twice was accepted")
	}
}

// TestValidatorSetHashAtEveryTreeShape covers sets of 1 to 9 validators: full trees and
// every uneven split of the merkle tree.
func TestValidatorSetHashAtEveryTreeShape(t *testing.T) {
	for n := 1; n <= 9; n++ {
		var vals []Validator
		var cmt []*cmttypes.Validator
		for i := 0; i < n; i++ {
			pk := ed25519.GenPrivKeyFromSecret([]byte(fmt.Sprintf("shape-%d", i))).PubKey()
			vals = append(vals, Validator{PubKey: pk.Bytes(), Power: int64(1 + i%3)})
			cmt = append(cmt, cmttypes.NewValidator(pk, int64(1+i%3)))
		}
		if got, want := ValidatorSetHash(vals), cmttypes.NewValidatorSet(cmt).Hash(); !bytes.Equal(got, want) {
			t.Fatalf("%d validators: hash %X, CometBFT's %X", n, got, want)
		}
	}
}
