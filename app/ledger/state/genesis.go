package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// GenesisAccount is one entry of the genesis app_state (see README).
type GenesisAccount struct {
	Address string `json:"address"`
	Balance string `json:"balance"`
}

// Genesis is the ledger's app_state: {"accounts":[{"address":"HEX","balance":"123"}]}.
// Balances are decimal strings, as in the Cosmos SDK, so JSON number precision
// never truncates a uint64.
type Genesis struct {
	Accounts []GenesisAccount `json:"accounts"`
}

// MaxGenesisBytes bounds the app_state the ledger will parse.
const MaxGenesisBytes = 256 << 20

// ParseGenesis reads and checks app_state bytes: every address valid and
// listed once, every balance a uint64, and the total supply a uint64 too
// (which is what makes overflow impossible afterwards). Empty input is an
// empty ledger.
func ParseGenesis(appState []byte) (map[tx.Address]Account, uint64, error) {
	accounts := make(map[tx.Address]Account)
	if len(bytes.TrimSpace(appState)) == 0 || string(bytes.TrimSpace(appState)) == "null" {
		return accounts, 0, nil
	}
	if len(appState) > MaxGenesisBytes {
		return nil, 0, fmt.Errorf("genesis app_state is %d bytes, limit %d", len(appState), MaxGenesisBytes)
	}
	var g Genesis
	dec := json.NewDecoder(bytes.NewReader(appState))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return nil, 0, fmt.Errorf("genesis app_state: %w", err)
	}
	var supply uint64
	for i, ga := range g.Accounts {
		addr, err := tx.ParseAddress(ga.Address)
		if err != nil {
			return nil, 0, fmt.Errorf("genesis account %d: %w", i, err)
		}
		bal, err := strconv.ParseUint(ga.Balance, 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("genesis account %d (%s): balance %q is not a uint64", i, addr, ga.Balance)
		}
		if _, dup := accounts[addr]; dup {
			return nil, 0, fmt.Errorf("genesis account %s listed twice", addr)
		}
		if supply > ^uint64(0)-bal {
			return nil, 0, fmt.Errorf("genesis total supply overflows a uint64")
		}
		supply += bal
		accounts[addr] = Account{Balance: bal}
	}
	return accounts, supply, nil
}
