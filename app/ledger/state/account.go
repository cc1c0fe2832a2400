package state

import (
	"encoding/binary"
	"errors"

	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// Account is the state of one address. An address never seen has the zero Account.
type Account struct {
	Balance uint64
	Nonce   uint64
}

// Reader reads accounts from some view of the state.
type Reader interface {
	Account(tx.Address) (Account, error)
}

const accountValueSize = 16

func (a Account) encode() []byte {
	b := make([]byte, 0, accountValueSize)
	b = binary.BigEndian.AppendUint64(b, a.Balance)
	return binary.BigEndian.AppendUint64(b, a.Nonce)
}

var errCorruptAccount = errors.New("state: corrupt account record")

func decodeAccount(b []byte) (Account, error) {
	if len(b) != accountValueSize {
		return Account{}, errCorruptAccount
	}
	return Account{Balance: binary.BigEndian.Uint64(b), Nonce: binary.BigEndian.Uint64(b[8:])}, nil
}

// leafValue is what the Merkle tree stores for an account: the address is in
// the leaf so that a proof names the account it proves, not just its key hash.
func leafValue(addr tx.Address, a Account) []byte {
	return append(append(make([]byte, 0, tx.AddressSize+accountValueSize), addr[:]...), a.encode()...)
}

func decodeLeafValue(b []byte) (tx.Address, Account, error) {
	if len(b) != tx.AddressSize+accountValueSize {
		return tx.Address{}, Account{}, errCorruptAccount
	}
	var addr tx.Address
	copy(addr[:], b)
	acc, err := decodeAccount(b[tx.AddressSize:])
	return addr, acc, err
}
