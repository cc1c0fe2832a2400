package accounts

import (
	"testing"

	"github.com/tutti-bft/tutti/app/ledger/state"
)

// TestDerivationIsDeterministicAndFunded: the same seed gives the same keys on both sides,
// another seed gives others, and AppState funds exactly the derived addresses.
func TestDerivationIsDeterministicAndFunded(t *testing.T) {
	if !Key("s", 3).Equals(Key("s", 3)) {
		t.Fatal("the same seed and index gave two keys")
	}
	if Key("s", 3).Equals(Key("s", 4)) || Key("s", 3).Equals(Key("t", 3)) {
		t.Fatal("different indexes or seeds gave the same key")
	}
	raw, err := AppState("s", 5, 42)
	if err != nil {
		t.Fatal(err)
	}
	accts, supply, err := state.ParseGenesis(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 5 || supply != 5*42 {
		t.Fatalf("%d accounts, supply %d; want 5 and 210", len(accts), supply)
	}
	for i := 0; i < 5; i++ {
		if a, ok := accts[Address("s", i)]; !ok || a.Balance != 42 {
			t.Fatalf("account %d (%s) not funded: %+v", i, Address("s", i), a)
		}
	}
}
