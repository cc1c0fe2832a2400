package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

const maxGenesisFileBytes = 512 << 20

func genesisCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "genesis", Short: "Edit the ledger's part of genesis.json (app_state)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "add-account ADDRESS AMOUNT",
		Short: "Add an account with a balance to app_state in HOME/config/genesis.json",
		Long: "Adds {\"address\":ADDRESS,\"balance\":AMOUNT} to app_state.accounts. Every other byte of\n" +
			"genesis.json outside app_state is kept as it is.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := tx.ParseAddress(args[0])
			if err != nil {
				return err
			}
			amount, err := strconv.ParseUint(args[1], 10, 64)
			if err != nil {
				return fmt.Errorf("amount %q is not a non-negative integer below 2^64", args[1])
			}
			path := genesisFile(home(cmd))
			if err := addGenesisAccount(path, addr, amount); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %s with %d to %s\n", addr, amount, path)
			return nil
		},
	})
	return cmd
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return raw, nil
}

// addGenesisAccount rewrites only the app_state value of the genesis file,
// so that a CometBFT or Cosmos SDK genesis keeps every other field byte for
// byte, and checks the result the way InitChain will (no duplicate, supply
// within a uint64). The file is replaced atomically.
func addGenesisAccount(path string, addr tx.Address, amount uint64) error {
	raw, err := readLimited(path, maxGenesisFileBytes)
	if err != nil {
		return err
	}
	start, end, err := appStateSpan(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	appState := map[string]json.RawMessage{}
	if start >= 0 {
		if v := bytes.TrimSpace(raw[start:end]); !bytes.Equal(v, []byte("null")) {
			if err := json.Unmarshal(v, &appState); err != nil {
				return fmt.Errorf("%s: app_state is not an object: %w", path, err)
			}
		}
	}
	var accounts []state.GenesisAccount
	if a, ok := appState["accounts"]; ok {
		if err := json.Unmarshal(a, &accounts); err != nil {
			return fmt.Errorf("%s: app_state.accounts: %w", path, err)
		}
	}
	accounts = append(accounts, state.GenesisAccount{Address: addr.String(), Balance: strconv.FormatUint(amount, 10)})
	if appState["accounts"], err = json.Marshal(accounts); err != nil {
		return err
	}
	newState, err := json.MarshalIndent(appState, "  ", "  ")
	if err != nil {
		return err
	}
	if _, _, err := state.ParseGenesis(newState); err != nil {
		return err
	}
	var out []byte
	if start >= 0 {
		out = append(append(append(out, raw[:start]...), newState...), raw[end:]...)
	} else {
		// No app_state yet: add it as the last field of the top-level object.
		closing := bytes.LastIndexByte(raw, '}')
		body := bytes.TrimRight(raw[:closing], " \t\r\n")
		sep := ",\n"
		if bytes.HasSuffix(body, []byte("{")) {
			sep = "\n"
		}
		out = append(append(append([]byte{}, body...), sep+`  "app_state": `...), newState...)
		out = append(append(out, '\n'), raw[closing:]...)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".genesis-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil {
		os.Chmod(tmp.Name(), fi.Mode().Perm())
	}
	return os.Rename(tmp.Name(), path)
}

// appStateSpan finds the byte range of the top-level "app_state" value;
// start is -1 if there is none.
func appStateSpan(raw []byte) (start, end int, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return 0, 0, errors.New("genesis is not a JSON object")
	}
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return 0, 0, err
		}
		key, _ := keyTok.(string)
		afterKey := int(dec.InputOffset())
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return 0, 0, err
		}
		if key == "app_state" {
			end = int(dec.InputOffset())
			start = afterKey + bytes.IndexByte(raw[afterKey:end], ':') + 1
			for start < end && (raw[start] == ' ' || raw[start] == '\t' || raw[start] == '\n' || raw[start] == '\r') {
				start++
			}
			return start, end, nil
		}
	}
	return -1, -1, nil
}
