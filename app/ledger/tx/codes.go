package tx

import "fmt"

// Code is the ABCI result code of a transaction; the table is documented in
// app/ledger/README.md and never renumbered, since clients match on it.
type Code uint32

// Result codes. Zero is success, as in every ABCI application.
const (
	CodeOK                Code = 0
	CodeMalformed         Code = 1 // bytes do not decode to a canonical Tx
	CodeTooLarge          Code = 2 // tx or memo over its limit
	CodeWrongChain        Code = 3 // chain_id is not this chain's
	CodeBadSignature      Code = 4 // signature does not verify
	CodeBadNonce          Code = 5 // nonce is not the account's next nonce
	CodeInsufficientFunds Code = 6 // balance below amount + fee
	CodeInvalidAmount     Code = 7 // zero amount or amount + fee overflows
	CodeBadQuery          Code = 8 // unknown query path or malformed query data
	CodeMempoolFull       Code = 9 // the app-side mempool is at its limit
)

// Codespace names the ledger in ABCI results.
const Codespace = "ledger"

// Error is a transaction failure carrying its result code.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf builds an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}
