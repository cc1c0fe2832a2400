// Package accounts derives the ledger accounts a test network funds at genesis and a load
// generator signs with. Both sides derive the same keys from a shared seed string, so no key
// file has to travel from `tutti testnet` to `tutti load`: the seed and the account count
// are all they share.
package accounts

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// DefaultSeed is the seed `tutti testnet --ledger-accounts` and `tutti load --app ledger`
// use unless told otherwise.
const DefaultSeed = "tutti-localnet"

// DefaultBalance funds each derived account: enough for billions of 1-token transfers, far
// from the uint64 supply limit even with a million accounts.
const DefaultBalance uint64 = 1_000_000_000_000

// Key is account i's private key. The keys are public knowledge to anyone who knows the
// seed: they are for test networks only.
func Key(seed string, i int) ed25519.PrivKey {
	return ed25519.GenPrivKeyFromSecret([]byte(seed + "/ledger-account/" + strconv.Itoa(i)))
}

// Address is the ledger address account i's key controls.
func Address(seed string, i int) tx.Address {
	return tx.AddressFromPubKey(Key(seed, i).PubKey().Bytes())
}

// AppState is the ledger's genesis app_state funding accounts 0..n-1 with balance each,
// checked as the ledger's InitChain will check it.
func AppState(seed string, n int, balance uint64) (json.RawMessage, error) {
	if n < 0 {
		return nil, fmt.Errorf("accounts: negative account count %d", n)
	}
	g := state.Genesis{Accounts: make([]state.GenesisAccount, n)}
	for i := range g.Accounts {
		g.Accounts[i] = state.GenesisAccount{Address: Address(seed, i).String(), Balance: strconv.FormatUint(balance, 10)}
	}
	raw, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	if _, _, err := state.ParseGenesis(raw); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return raw, nil
}
