package state

import "github.com/tutti-bft/tutti/app/ledger/tx"

// Overlay stages account changes on top of a base view without touching it.
// It is not safe for concurrent use; the parallel executor gives each
// goroutine its own Overlay over a shared read-only base.
type Overlay struct {
	base    Reader
	changed map[tx.Address]Account
}

// NewOverlay starts an empty set of changes over base.
func NewOverlay(base Reader) *Overlay {
	return &Overlay{base: base, changed: make(map[tx.Address]Account)}
}

// Account returns the staged account, else the base's.
func (o *Overlay) Account(a tx.Address) (Account, error) {
	if acc, ok := o.changed[a]; ok {
		return acc, nil
	}
	return o.base.Account(a)
}

// Set stages an account.
func (o *Overlay) Set(a tx.Address, acc Account) { o.changed[a] = acc }

// Changes returns the staged accounts (the map itself: do not modify).
func (o *Overlay) Changes() map[tx.Address]Account { return o.changed }

// Merge stages every change of other into o.
func (o *Overlay) Merge(other *Overlay) {
	for a, acc := range other.changed {
		o.changed[a] = acc
	}
}

// Len is the number of staged accounts.
func (o *Overlay) Len() int { return len(o.changed) }
