package genesis

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"
)

func TestCometBFTFormParses(t *testing.T) {
	data, err := os.ReadFile("testdata/cometbft.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Form != CometBFT || doc.ChainID != "tutti-fixture" || doc.InitialHeight != 1 || len(doc.Validators) != 4 {
		t.Fatalf("unexpected doc: %+v", doc)
	}
	// cometbft's own reader must agree with ours on everything it reads.
	ref, err := cmttypes.GenesisDocFromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if !ref.GenesisTime.Equal(doc.GenesisTime) || ref.ValidatorHash() == nil ||
		!bytes.Equal(ref.ValidatorHash(), doc.CometBFTDoc().ValidatorHash()) ||
		ref.ConsensusParams.Hash() == nil || !bytes.Equal(ref.ConsensusParams.Hash(), doc.ConsensusParams.Hash()) {
		t.Fatal("our reading differs from cometbft's")
	}
	for i, v := range doc.Validators {
		if v.Power != int64(10+i) || !bytes.Equal(v.Address, ref.Validators[i].Address) {
			t.Fatalf("validator %d: %+v", i, v)
		}
	}
	assertAppStateUntouched(t, data, doc)
}

func TestSDKAppGenesisParses(t *testing.T) {
	data, err := os.ReadFile("testdata/sdk_appgenesis.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Form != AppGenesis || doc.ChainID != "sdk-fixture" || doc.InitialHeight != 7 || doc.AppName != "simd" {
		t.Fatalf("unexpected doc: %+v", doc)
	}
	if len(doc.Validators) != 0 {
		t.Fatal("an SDK genesis has no validators: the app returns them from InitChain")
	}
	if doc.ConsensusParams.Block.MaxBytes != 22020096 || doc.ConsensusParams.Block.MaxGas != -1 {
		t.Fatalf("consensus params: %+v", doc.ConsensusParams.Block)
	}
	if doc.GenesisTime.Nanosecond() != 123456789 {
		t.Fatal("genesis time lost its nanoseconds")
	}
	assertAppStateUntouched(t, data, doc)
}

// assertAppStateUntouched checks that app_state is the exact byte range of the file,
// spacing included: apps hash it, so reformatting it would change their genesis.
func assertAppStateUntouched(t *testing.T, file []byte, doc *Doc) {
	t.Helper()
	if len(doc.AppState) == 0 || !bytes.Contains(file, doc.AppState) {
		t.Fatalf("app_state not kept byte for byte: %s", doc.AppState)
	}
}

func TestMalformedGenesisNamesTheField(t *testing.T) {
	cases := []struct {
		file, from, to, field string
	}{
		{"cometbft.json", `"chain_id": "tutti-fixture"`, `"chain_id": ""`, "chain_id"},
		{"cometbft.json", `"chain_id": "tutti-fixture"`, `"chain_id": 7`, "chain_id"},
		{"cometbft.json", `"genesis_time": "2026-11-01T12:00:00Z"`, `"genesis_time": "yesterday"`, "genesis_time"},
		{"cometbft.json", `"initial_height": "1"`, `"initial_height": "one"`, "initial_height"},
		{"cometbft.json", `"initial_height": "1"`, `"initial_height": "-3"`, "initial_height"},
		{"cometbft.json", `"power": "11"`, `"power": "0"`, "validators[1].power"},
		{"cometbft.json", `"power": "11"`, `"power": "lots"`, "validators[1].power"},
		{"cometbft.json", `"address": "63D771218209D8BD03C482F69DFBA57310F08609"`, `"address": "63D771218209D8BD03C482F69DFBA57310F08600"`, "validators[1].address"},
		{"cometbft.json", `"type": "tendermint/PubKeyEd25519",
        "value": "Tuqq3xMBIO3jk5apWkikY3fhqBUDsRYad3EW5WycgXQ="`, `"type": "tendermint/PubKeyBogus",
        "value": "Tuqq3xMBIO3jk5apWkikY3fhqBUDsRYad3EW5WycgXQ="`, "validators[1].pub_key"},
		{"cometbft.json", `"max_bytes": "22020096"`, `"max_bytes": "0"`, "consensus_params"},
		// A key of the wrong size panicked in its Address (issue: "pubkey is incorrect size").
		{"cometbft.json", `"value": "Tuqq3xMBIO3jk5apWkikY3fhqBUDsRYad3EW5WycgXQ="`, `"value": "AAAA"`, "validators[1].pub_key"},
		{"cometbft.json", `"type": "tendermint/PubKeyEd25519",
        "value": "Tuqq3xMBIO3jk5apWkikY3fhqBUDsRYad3EW5WycgXQ="`, `"type": "tendermint/PubKeySecp256k1",
        "value": "A6MjYm3rQ8BXo1bP2Nus8PyvYJ1YY6ap8VfLHJsK5ofv"`, "validators[1].pub_key"},
		{"sdk_appgenesis.json", `"initial_height": 7`, `"initial_height": 7.5`, "initial_height"},
		{"sdk_appgenesis.json", `"max_gas": "-1"`, `"max_gas": "-7"`, "consensus.params"},
		{"sdk_appgenesis.json", `"consensus": {`, `"consensus": [], "x": {`, "consensus"},
		{"sdk_appgenesis.json", `"app_hash": null`, `"app_hash": "zz"`, "app_hash"},
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			bad := strings.Replace(string(data), tc.from, tc.to, 1)
			if bad == string(data) {
				t.Fatalf("fixture edit %q did not apply", tc.from)
			}
			_, err = Parse([]byte(bad))
			if err == nil {
				t.Fatal("malformed genesis accepted")
			}
			if !strings.Contains(err.Error(), "genesis field "+tc.field) {
				t.Fatalf("error does not name %s: %v", tc.field, err)
			}
		})
	}
}

func TestNotJSONIsAClearError(t *testing.T) {
	if _, err := Parse([]byte("{not json")); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Fatalf("got %v", err)
	}
}
