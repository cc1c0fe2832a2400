package keys

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAddLoadList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ledger-keys")
	alice, err := Add(dir, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Add(dir, "alice"); err == nil {
		t.Fatal("second key with the same name overwrote the first")
	}
	if _, err := Add(dir, "../evil"); err == nil {
		t.Fatal("path in a key name accepted")
	}
	if _, err := Add(dir, "bob"); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir, "alice")
	if err != nil || !got.PrivKey.Equals(alice.PrivKey) || got.Address() != alice.Address() {
		t.Fatalf("Load: %v", err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "alice.json"))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	all, err := List(dir)
	if err != nil || len(all) != 2 || all[0].Name != "alice" || all[1].Name != "bob" {
		t.Fatalf("List: %v %v", all, err)
	}
	if _, err := Load(dir, "carol"); err == nil {
		t.Fatal("missing key loaded")
	}
}
