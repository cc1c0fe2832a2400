package load

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/tutti-bft/tutti/app/ledger/client"
	"github.com/tutti-bft/tutti/app/ledger/tx"
	"github.com/tutti-bft/tutti/testnet/accounts"
)

// source makes the transactions of a run.
type source interface {
	// next builds send seq's transaction and picks its endpoint. finish must be called with
	// the broadcast's outcome (and the CheckTx code of a refusal) once it is known.
	next(ctx context.Context, seq int64) (raw []byte, endpoint int, finish func(o outcome, code uint32))
}

// kvSource makes unique kvstore transactions "load-RUN-SEQ=vvv..." of a fixed size. The run
// id keeps two runs against one chain from sending the same bytes, which the mempool's
// cache and the app would both refuse.
type kvSource struct {
	run       string
	size      int
	endpoints int
}

func newKVSource(size, endpoints int) *kvSource {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &kvSource{run: hex.EncodeToString(b), size: size, endpoints: endpoints}
}

func (s *kvSource) next(_ context.Context, seq int64) ([]byte, int, func(outcome, uint32)) {
	key := fmt.Sprintf("load-%s-%d=", s.run, seq)
	raw := key + strings.Repeat("v", max(s.size-len(key), 1))
	return []byte(raw), int(seq % int64(s.endpoints)), func(outcome, uint32) {}
}

// ledgerAccount is one funded account the run sends from. Its transfers go to one endpoint
// only, one at a time: the ledger admits nonce n+1 only after n on the same node (its
// pending view is per node), so two nodes or two transfers in flight would race.
type ledgerAccount struct {
	mu       sync.Mutex
	key      ed25519.PrivKey
	addr     tx.Address
	to       tx.Address
	nonce    uint64 // the next nonce to sign
	endpoint int
	resync   bool // a BadNonce refusal: ask the node for the nonce before the next transfer
}

// ledgerSource signs 1-token transfers between the funded accounts, round robin, account i
// to account i+1.
type ledgerSource struct {
	chainID string
	accts   []*ledgerAccount
	clients []*client.Client
}

// newLedgerSource derives n accounts from seed and reads each one's committed nonce from
// the endpoint it is pinned to, so that a run can follow an earlier one on the same chain.
func newLedgerSource(ctx context.Context, seed string, n int, chainID string, clients []*client.Client) (*ledgerSource, error) {
	s := &ledgerSource{chainID: chainID, clients: clients, accts: make([]*ledgerAccount, n)}
	for i := range s.accts {
		s.accts[i] = &ledgerAccount{key: accounts.Key(seed, i), addr: accounts.Address(seed, i),
			to: accounts.Address(seed, (i+1)%n), endpoint: i % len(clients)}
	}
	// A few queries at a time: enough to read a thousand accounts in about a second
	// without crowding the node's RPC.
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for _, a := range s.accts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			b, err := clients[a.endpoint].Account(ctx, a.addr)
			if err != nil {
				errs <- err
				return
			}
			if b.Balance == 0 {
				errs <- fmt.Errorf("load: ledger account %s (seed %q) has no funds: was the network generated with `tutti testnet --ledger-accounts N --ledger-seed %s` and N >= --ledger-accounts?", a.addr, seed, seed)
				return
			}
			a.nonce = b.Nonce
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return s, nil
}

func (s *ledgerSource) next(ctx context.Context, seq int64) ([]byte, int, func(outcome, uint32)) {
	a := s.accts[seq%int64(len(s.accts))]
	a.mu.Lock()
	if a.resync {
		if b, err := s.clients[a.endpoint].Account(ctx, a.addr); err == nil {
			a.nonce, a.resync = b.Nonce, false
		}
	}
	raw, err := tx.Sign(a.key, tx.Transfer{ChainId: s.chainID, To: a.to[:], Amount: 1, Nonce: a.nonce})
	if err != nil {
		// Signing a well-formed transfer cannot fail; if it did, the panic names why.
		panic(fmt.Sprintf("load: sign a transfer: %v", err))
	}
	return raw, a.endpoint, func(o outcome, code uint32) {
		switch {
		case o == accepted:
			a.nonce++
		case o == sendError:
			// The node may have admitted it: assume so, and let a BadNonce refusal of a
			// later transfer correct the nonce if it did not.
			a.nonce++
		case code == uint32(tx.CodeBadNonce):
			a.resync = true
		}
		a.mu.Unlock()
	}
}
