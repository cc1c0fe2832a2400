package client

import (
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// Sender signs a stream of transfers from one key with consecutive nonces,
// without a round trip per transfer: what a load generator needs, since the
// ledger's CheckTx admits nonces n, n+1, n+2 back to back.
type Sender struct {
	key       ed25519.PrivKey
	chainID   string
	nextNonce uint64
}

// NewSender starts at nextNonce (the account's committed nonce, see Client.Account).
func NewSender(key ed25519.PrivKey, chainID string, nextNonce uint64) *Sender {
	return &Sender{key: key, chainID: chainID, nextNonce: nextNonce}
}

// Address is the sending account.
func (s *Sender) Address() tx.Address { return tx.AddressFromPubKey(s.key.PubKey().Bytes()) }

// Next signs the next transfer and advances the nonce.
func (s *Sender) Next(to tx.Address, amount, fee uint64, memo string) ([]byte, error) {
	raw, err := tx.Sign(s.key, tx.Transfer{ChainId: s.chainID, To: to[:], Amount: amount, Fee: fee, Nonce: s.nextNonce, Memo: memo})
	if err != nil {
		return nil, err
	}
	s.nextNonce++
	return raw, nil
}
