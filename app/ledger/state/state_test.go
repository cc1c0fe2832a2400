package state

import (
	"strings"
	"testing"

	"github.com/tutti-bft/tutti/app/ledger/tx"
)

func TestParseGenesis(t *testing.T) {
	a := tx.AddressFromPubKey([]byte("a"))
	b := tx.AddressFromPubKey([]byte("b"))
	accounts, supply, err := ParseGenesis([]byte(`{"accounts":[{"address":"` + a.String() + `","balance":"18446744073709551000"},{"address":"` + strings.ToLower(b.String()) + `","balance":"615"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if supply != 18446744073709551615 || accounts[a].Balance != 18446744073709551000 || accounts[b].Balance != 615 {
		t.Fatalf("supply %d accounts %v", supply, accounts)
	}
	for name, bad := range map[string]string{
		"overflow":  `{"accounts":[{"address":"` + a.String() + `","balance":"18446744073709551615"},{"address":"` + b.String() + `","balance":"1"}]}`,
		"duplicate": `{"accounts":[{"address":"` + a.String() + `","balance":"1"},{"address":"` + a.String() + `","balance":"1"}]}`,
		"number":    `{"accounts":[{"address":"` + a.String() + `","balance":1}]}`,
		"negative":  `{"accounts":[{"address":"` + a.String() + `","balance":"-1"}]}`,
		"address":   `{"accounts":[{"address":"XYZ","balance":"1"}]}`,
		"unknown":   `{"acounts":[]}`,
	} {
		if _, _, err := ParseGenesis([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if accounts, _, err := ParseGenesis(nil); err != nil || len(accounts) != 0 {
		t.Fatal("empty app_state is not an empty ledger")
	}
}

func TestStoreCommitReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{KeepVersions: 2})
	if err != nil {
		t.Fatal(err)
	}
	a := tx.AddressFromPubKey([]byte("a"))
	s.StageChainID("c")
	var last []byte
	for h := int64(1); h <= 5; h++ {
		if last, err = s.Stage(h, map[tx.Address]Account{a: {Balance: uint64(h), Nonce: uint64(h)}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Stage(7, nil); err != nil {
		t.Fatal(err)
	}
	s.Close() // staged height 7 is lost
	s, err = Open(dir, Options{KeepVersions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Height() != 5 || string(s.AppHash()) != string(last) || s.ChainID() != "c" {
		t.Fatalf("reopened at %d %X chain %q", s.Height(), s.AppHash(), s.ChainID())
	}
	if acc, _ := s.Account(a); acc.Balance != 5 {
		t.Fatalf("balance %d", acc.Balance)
	}
	if _, _, _, err := s.AccountAt(4, a); err != nil {
		t.Fatalf("retained height 4: %v", err)
	}
	if _, _, _, err := s.AccountAt(3, a); err == nil {
		t.Fatal("height 3 still readable with 2 versions kept")
	}
}
