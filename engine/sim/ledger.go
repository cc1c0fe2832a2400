package sim

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/proxy"

	"github.com/tutti-bft/tutti/app/ledger"
	"github.com/tutti-bft/tutti/app/ledger/state"
	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// The ledger workload: a few funded accounts send each other signed transfers, each
// account through one honest validator at a time (a client keeps its nonces in order by
// talking to one node), and the S6 checker demands the total supply stays what genesis
// minted.
const (
	ledgerAccounts       = 16
	ledgerGenesisBalance = 1_000_000_000
)

type ledgerAccount struct {
	key   ed25519.PrivKey
	addr  tx.Address
	nonce uint64 // the next nonce this client will sign
	home  int    // the instance it sends to
}

// InProcessLedger runs Tutti's ledger in process for every instance, each with its own
// goleveldb directory under dir, so a crash keeps what the ledger committed.
func InProcessLedger(dir string) AppFactory {
	return func(instance int) (proxy.ClientCreator, func() error, error) {
		app, err := ledger.New(filepath.Join(dir, fmt.Sprintf("instance-%d", instance)), ledger.WithChainID(chainID))
		if err != nil {
			return nil, nil, err
		}
		return proxy.NewLocalClientCreator(app), app.Close, nil
	}
}

func (s *Sim) setupLedger() {
	r := s.rng("ledger-accounts")
	accounts := make([]map[string]string, ledgerAccounts)
	s.ledgerAccts = make([]*ledgerAccount, ledgerAccounts)
	honestIDs := s.instancesOfHonest()
	for i := range s.ledgerAccts {
		seed := binary.BigEndian.AppendUint64([]byte("sim-account-"), uint64(i))
		key := ed25519.GenPrivKeyFromSecret(seed)
		a := &ledgerAccount{key: key, addr: tx.AddressFromPubKey(key.PubKey().Bytes()), home: honestIDs[r.IntN(len(honestIDs))]}
		s.ledgerAccts[i] = a
		accounts[i] = map[string]string{"address": a.addr.String(), "balance": strconv.Itoa(ledgerGenesisBalance)}
	}
	state, err := json.Marshal(map[string]any{"accounts": accounts})
	if err != nil {
		panic(err) // plain maps of strings always marshal
	}
	s.appState = state
}

// nextLedgerTx signs a transfer from a random account to another; it returns the account
// so the caller can advance its nonce only if the transfer was acknowledged.
func (s *Sim) nextLedgerTx() ([]byte, *ledgerAccount) {
	r := s.rng("workload")
	from := s.ledgerAccts[r.IntN(len(s.ledgerAccts))]
	to := s.ledgerAccts[r.IntN(len(s.ledgerAccts))]
	amount := 1 + r.Uint64N(1000)
	raw, err := tx.Sign(from.key, tx.Transfer{ChainId: chainID, To: to.addr[:], Amount: amount, Fee: r.Uint64N(3),
		Nonce: from.nonce, Memo: "sim"})
	if err != nil {
		panic(err) // signing a well-formed transfer cannot fail
	}
	return raw, from
}

// submitLedgerTx sends one transfer through its account's home instance, moving the
// account to another honest instance when its home is down.
func (s *Sim) submitLedgerTx() {
	raw, from := s.nextLedgerTx()
	home := s.instances[from.home]
	if !home.up || home.halted {
		honestIDs := s.instancesOfHonest()
		from.home = honestIDs[s.rng("workload").IntN(len(honestIDs))]
		home = s.instances[from.home]
	}
	s.submitted[string(raw)] = true
	s.stats.TxsSubmitted++
	if home.submit(raw) {
		s.acked[string(raw)] = home.id
		from.nonce++
	}
}

// checkSupply is S6: on every honest instance that is up, the balances of every account
// that can hold tokens (clients, validators who earn fees, the fee collector) sum to the
// genesis supply.
func (s *Sim) checkSupply(when time.Duration) {
	addrs := []tx.Address{ledger.FeeCollector}
	for _, a := range s.ledgerAccts {
		addrs = append(addrs, a.addr)
	}
	for _, k := range s.keys {
		addrs = append(addrs, tx.AddressFromPubKey(k.PubKey()))
	}
	want := uint64(ledgerGenesisBalance) * ledgerAccounts
	for _, n := range s.instances {
		if !n.up || n.halted || !s.honest(n.author) {
			continue
		}
		var total uint64
		var height int64
		for _, a := range addrs {
			res, err := n.query.Query(context.Background(), &abci.RequestQuery{Path: ledger.QueryBalance, Data: a[:]})
			if err != nil || res.Code != 0 {
				s.violate("S6", fmt.Sprintf("instance %d: balance query for %s failed: %v %v", n.id, a, err, res.GetLog()))
				return
			}
			var rec state.AccountRecord
			if err := rec.Unmarshal(res.Value); err != nil {
				s.violate("S6", fmt.Sprintf("instance %d: malformed account record for %s", n.id, a))
				return
			}
			total += rec.Balance
			height = res.Height
		}
		s.stats.SupplyChecks++
		if total != want {
			s.violate("S6", fmt.Sprintf("instance %d at height %d (%s): total supply %d, genesis minted %d", n.id, height, when, total, want))
		}
	}
}
