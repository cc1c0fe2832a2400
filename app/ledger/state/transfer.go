package state

import (
	"fmt"

	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// ApplyTransfer checks a decoded, signature-verified transfer against the
// accounts of v and, if it is valid, debits amount + fee from the sender,
// credits amount to the recipient and advances the sender's nonce. The fee is
// returned to the caller, which credits the block's fees once, after every
// transaction (see README: fees), so that transfers touching disjoint accounts
// never conflict. An invalid transfer changes nothing.
func ApplyTransfer(v *Overlay, t *tx.Tx) (fee uint64, txErr *tx.Error, err error) {
	from, to := t.Sender(), t.Recipient()
	sender, err := v.Account(from)
	if err != nil {
		return 0, nil, err
	}
	if t.Transfer.Nonce != sender.Nonce {
		return 0, tx.Errorf(tx.CodeBadNonce, "nonce %d, account %s expects %d", t.Transfer.Nonce, from, sender.Nonce), nil
	}
	if sender.Balance < t.Cost() {
		return 0, tx.Errorf(tx.CodeInsufficientFunds, "account %s holds %d, transfer needs %d", from, sender.Balance, t.Cost()), nil
	}
	sender.Balance -= t.Cost()
	sender.Nonce++
	v.Set(from, sender)
	recipient, err := v.Account(to)
	if err != nil {
		return 0, nil, err
	}
	if recipient.Balance > ^uint64(0)-t.Transfer.Amount {
		// Impossible while genesis supply fits in a uint64; kept as a guard.
		return 0, nil, fmt.Errorf("state: balance of %s would overflow", to)
	}
	recipient.Balance += t.Transfer.Amount
	v.Set(to, recipient)
	return t.Transfer.Fee, nil, nil
}

// Credit adds amount to an account (the block's fees to their recipient).
func Credit(v *Overlay, to tx.Address, amount uint64) error {
	if amount == 0 {
		return nil
	}
	acc, err := v.Account(to)
	if err != nil {
		return err
	}
	if acc.Balance > ^uint64(0)-amount {
		return fmt.Errorf("state: balance of %s would overflow", to)
	}
	acc.Balance += amount
	v.Set(to, acc)
	return nil
}
