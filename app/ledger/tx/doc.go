// Package tx defines the ledger's only transaction, a signed transfer: its wire
// form (gogoproto), the one size-limited decoder untrusted bytes go through, the
// canonical bytes a signature covers, addresses, and the result codes a
// transaction can end with.
package tx
