// Package genesis reads a chain's genesis document in either of the two forms a Cosmos
// chain may ship: CometBFT's GenesisDoc and the Cosmos SDK's AppGenesis (integer
// initial_height, consensus.params, usually no validators list because the app returns the
// set from InitChain). The app_state bytes are kept exactly as written.
package genesis

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/tutti-bft/tutti/engine/types"
)

// Form says which of the two genesis layouts a document was written in.
type Form int

const (
	// CometBFT is CometBFT's GenesisDoc: consensus_params and validators at the top level.
	CometBFT Form = iota
	// AppGenesis is the Cosmos SDK's form: app_name, app_version and a consensus object.
	AppGenesis
)

func (f Form) String() string {
	if f == AppGenesis {
		return "Cosmos SDK AppGenesis"
	}
	return "CometBFT GenesisDoc"
}

// Doc is a parsed genesis document.
type Doc struct {
	Form            Form
	ChainID         string
	GenesisTime     time.Time
	InitialHeight   int64
	ConsensusParams *cmttypes.ConsensusParams
	// Validators is empty when the app chooses the set in its InitChain response.
	Validators []cmttypes.GenesisValidator
	AppHash    []byte
	// AppState is the app_state value byte for byte, or nil when the document has none.
	AppState   json.RawMessage
	AppName    string
	AppVersion string
}

// FieldError is a problem with one field of the document; Field is its JSON path
// ("consensus.params.block.max_bytes", "validators[2].power").
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("genesis field %s: %s", e.Field, e.Reason) }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Load reads and parses the genesis file at path.
func Load(path string) (*Doc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read genesis: %w", err)
	}
	doc, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// Parse reads a genesis document in either form. Unlike CometBFT it never fills in a
// missing genesis_time from the local clock: a node must not invent chain data.
func Parse(data []byte) (*Doc, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("genesis is not a JSON object: %w", err)
	}
	doc := &Doc{Form: CometBFT}
	if _, ok := top["consensus"]; ok {
		doc.Form = AppGenesis
	}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(readString(top, "chain_id", &doc.ChainID, true))
	add(readTime(top, "genesis_time", &doc.GenesisTime))
	add(readHeight(top, "initial_height", &doc.InitialHeight))
	add(readHex(top, "app_hash", &doc.AppHash))
	if raw, ok := top["app_state"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		doc.AppState = raw
	}
	switch doc.Form {
	case AppGenesis:
		add(readString(top, "app_name", &doc.AppName, false))
		add(readString(top, "app_version", &doc.AppVersion, false))
		var consensus map[string]json.RawMessage
		if err := json.Unmarshal(top["consensus"], &consensus); err != nil {
			add(fieldErr("consensus", "must be an object: %v", err))
			break
		}
		add(readParams(consensus["params"], "consensus.params", &doc.ConsensusParams))
		add(readValidators(consensus["validators"], "consensus.validators", &doc.Validators))
	default:
		add(readParams(top["consensus_params"], "consensus_params", &doc.ConsensusParams))
		add(readValidators(top["validators"], "validators", &doc.Validators))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return doc, nil
}

func readString(top map[string]json.RawMessage, field string, out *string, required bool) error {
	raw, ok := top[field]
	if !ok {
		if required {
			return fieldErr(field, "missing")
		}
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fieldErr(field, "must be a string")
	}
	if field == "chain_id" {
		if strings.TrimSpace(*out) == "" {
			return fieldErr(field, "must not be empty")
		}
		if len(*out) > cmttypes.MaxChainIDLen {
			return fieldErr(field, "longer than %d characters", cmttypes.MaxChainIDLen)
		}
	}
	return nil
}

func readTime(top map[string]json.RawMessage, field string, out *time.Time) error {
	raw, ok := top[field]
	if !ok {
		return fieldErr(field, "missing")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fieldErr(field, "must be an RFC 3339 time string")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fieldErr(field, "%q is not an RFC 3339 time", s)
	}
	*out = t.UTC()
	return nil
}

// readHeight accepts CometBFT's string form ("1") and the SDK's integer form (1).
func readHeight(top map[string]json.RawMessage, field string, out *int64) error {
	raw, ok := top[field]
	if !ok {
		*out = 1
		return nil
	}
	h, err := parseInt(raw)
	if err != nil {
		return fieldErr(field, "%s is not an integer", raw)
	}
	if h < 0 {
		return fieldErr(field, "must not be negative, got %d", h)
	}
	if h == 0 {
		h = 1 // CometBFT's rule: 0 means the chain starts at height 1
	}
	*out = h
	return nil
}

// parseInt reads an integer written as a JSON number or, as cometbft writes int64, a string.
func parseInt(raw json.RawMessage) (int64, error) {
	return strconv.ParseInt(strings.Trim(string(bytes.TrimSpace(raw)), `"`), 10, 64)
}

func readHex(top map[string]json.RawMessage, field string, out *[]byte) error {
	raw, ok := top[field]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fieldErr(field, "must be a hex string")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return fieldErr(field, "%q is not hex", s)
	}
	*out = b
	return nil
}

func readParams(raw json.RawMessage, field string, out **cmttypes.ConsensusParams) error {
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		*out = cmttypes.DefaultConsensusParams()
		return nil
	}
	// Start from the defaults so a document that lists only some sections (as SDK files
	// often do) gets CometBFT's values for the rest.
	params := cmttypes.DefaultConsensusParams()
	if err := cmtjson.Unmarshal(raw, params); err != nil {
		return fieldErr(field, "%v", err)
	}
	if err := params.ValidateBasic(); err != nil {
		return fieldErr(field, "%v", err)
	}
	*out = params
	return nil
}

func readValidators(raw json.RawMessage, field string, out *[]cmttypes.GenesisValidator) error {
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return fieldErr(field, "must be a list")
	}
	vals := make([]cmttypes.GenesisValidator, len(items))
	for i, item := range items {
		path := fmt.Sprintf("%s[%d]", field, i)
		var parts map[string]json.RawMessage
		if err := json.Unmarshal(item, &parts); err != nil {
			return fieldErr(path, "must be an object")
		}
		if _, ok := parts["pub_key"]; !ok {
			return fieldErr(path+".pub_key", "missing")
		}
		if err := cmtjson.Unmarshal(parts["pub_key"], &vals[i].PubKey); err != nil || vals[i].PubKey == nil {
			return fieldErr(path+".pub_key", "not a public key in CometBFT's JSON form: %v", err)
		}
		if err := types.CheckValidatorKey(vals[i].PubKey.Type(), vals[i].PubKey.Bytes()); err != nil {
			return fieldErr(path+".pub_key", "%v", err)
		}
		power, err := parseInt(parts["power"])
		if err != nil {
			return fieldErr(path+".power", "must be a positive integer")
		}
		vals[i].Power = power
		if vals[i].Power <= 0 || vals[i].Power > cmttypes.MaxTotalVotingPower {
			return fieldErr(path+".power", "must be between 1 and %d", cmttypes.MaxTotalVotingPower)
		}
		if err := readString(parts, "name", &vals[i].Name, false); err != nil {
			return fieldErr(path+".name", "must be a string")
		}
		var addr []byte
		if err := readHex(parts, "address", &addr); err != nil {
			return fieldErr(path+".address", "must be hex")
		}
		if len(addr) > 0 && !bytes.Equal(addr, vals[i].PubKey.Address()) {
			return fieldErr(path+".address", "%X does not match its pub_key, which gives %X", addr, vals[i].PubKey.Address())
		}
		vals[i].Address = vals[i].PubKey.Address()
	}
	*out = vals
	return nil
}

// CometBFTDoc converts to cometbft's GenesisDoc, the form its tools and RPC results use.
func (d *Doc) CometBFTDoc() *cmttypes.GenesisDoc {
	return &cmttypes.GenesisDoc{
		GenesisTime:     d.GenesisTime,
		ChainID:         d.ChainID,
		InitialHeight:   d.InitialHeight,
		ConsensusParams: d.ConsensusParams,
		Validators:      d.Validators,
		AppHash:         d.AppHash,
		AppState:        d.AppState,
	}
}
