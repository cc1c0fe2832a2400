// Package keys stores the ledger's account keys as one JSON file per key
// name in a directory (H/ledger-keys/), readable by the owner only.
package keys

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// Key is a named ed25519 account key.
type Key struct {
	Name    string
	PrivKey ed25519.PrivKey
}

// Address is the account the key controls.
func (k *Key) Address() tx.Address { return tx.AddressFromPubKey(k.PrivKey.PubKey().Bytes()) }

// PubKeyHex is the public key in hex.
func (k *Key) PubKeyHex() string {
	return strings.ToUpper(hex.EncodeToString(k.PrivKey.PubKey().Bytes()))
}

type keyFile struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`
	PrivKey string `json:"priv_key"` // hex of the 64-byte ed25519 private key
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// maxKeyFileBytes bounds a key file read from disk.
const maxKeyFileBytes = 4096

// ErrNotFound is returned for a key name with no file.
var ErrNotFound = errors.New("no such key")

func path(dir, name string) (string, error) {
	if !validName.MatchString(name) || name == "." || name == ".." {
		return "", fmt.Errorf("key name %q: use 1 to 64 letters, digits, '.', '_' or '-'", name)
	}
	return filepath.Join(dir, name+".json"), nil
}

// Add creates a new random key; it never overwrites an existing one.
func Add(dir, name string) (*Key, error) {
	p, err := path(dir, name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	k := &Key{Name: name, PrivKey: ed25519.GenPrivKey()}
	raw, err := json.MarshalIndent(keyFile{
		Name: name, Address: k.Address().String(), PubKey: k.PubKeyHex(),
		PrivKey: hex.EncodeToString(k.PrivKey.Bytes()),
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("key %q already exists in %s", name, dir)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// Load reads the key called name.
func Load(dir, name string) (*Key, error) {
	p, err := path(dir, name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w %q in %s", ErrNotFound, name, dir)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxKeyFileBytes {
		return nil, fmt.Errorf("key file %s is larger than %d bytes", p, maxKeyFileBytes)
	}
	var kf keyFile
	if err := json.Unmarshal(raw, &kf); err != nil {
		return nil, fmt.Errorf("key file %s: %w", p, err)
	}
	priv, err := hex.DecodeString(kf.PrivKey)
	if err != nil || len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("key file %s: priv_key must be %d bytes of hex", p, ed25519.PrivateKeySize)
	}
	k := &Key{Name: name, PrivKey: ed25519.PrivKey(priv)}
	if kf.Address != "" && !strings.EqualFold(kf.Address, k.Address().String()) {
		return nil, fmt.Errorf("key file %s: address %s does not match its key", p, kf.Address)
	}
	return k, nil
}

// List loads every key in dir, sorted by name.
func List(dir string) ([]*Key, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := make([]*Key, 0, len(names))
	for _, n := range names {
		k, err := Load(dir, n)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}
