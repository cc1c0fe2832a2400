package node

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/privval"
	"github.com/rs/zerolog"

	"github.com/tutti-bft/tutti/engine/store"
)

// TestOpenFailureReleasesWhatItOpened: when Open fails after opening the store (here the
// validator key is gone), it returns the error and closes the store, so that the database
// can be opened again; it used to panic on a nil node instead, hiding the error (found by
// the end-to-end runner's truncate perturbation).
func TestOpenFailureReleasesWhatItOpened(t *testing.T) {
	cfg := testHomes(t, 1, nil)[0]
	if err := os.Remove(cfg.PrivValidatorKeyFile()); err != nil {
		t.Fatal(err)
	}
	n, err := Open(cfg, zerolog.Nop())
	if err == nil || n != nil {
		t.Fatalf("Open without a validator key: node %v, error %v", n, err)
	}
	if !strings.Contains(err.Error(), "priv_validator_key") {
		t.Fatalf("the error does not name the missing key file: %v", err)
	}
	s, err := store.Open(cfg.DBPath())
	if err != nil {
		t.Fatalf("the failed Open left the store open: %v", err)
	}
	s.Close()
}

// A home whose key is not in the validator set although its signing state shows it signed
// before (a validator whose key was swapped by mistake) starts as a non-validator, with a
// WARN saying so and how to check, instead of silence.
func TestAValidatorsHomeWithAKeyOutsideTheSetWarns(t *testing.T) {
	cfg := testHomes(t, 1, nil)[0]
	stranger := privval.GenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	stranger.LastSignState.Height = 7
	stranger.Save()
	var logs bytes.Buffer
	n, err := Open(cfg, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if !strings.Contains(logs.String(), `"level":"warn"`) || !strings.Contains(logs.String(), "not in the validator set") ||
		!strings.Contains(logs.String(), "tutti show-validator") {
		t.Fatalf("no WARN about the key outside the set:\n%s", logs.String())
	}
}
