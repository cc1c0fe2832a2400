package tx

import (
	"bytes"
	"math"
)

// Limits on untrusted input. A transfer with a full memo encodes in well under
// MaxTxBytes, so the limit only ever rejects garbage.
const (
	MaxTxBytes     = 1024
	MaxMemoBytes   = 256
	MaxChainIDSize = 50 // CometBFT's limit on chain ids
)

// Decode is the only way untrusted bytes become a Tx. It checks the size before
// parsing, rejects any encoding that is not the canonical one (so one transfer
// has exactly one hash), and performs every check that needs no state and no
// signature verification. It never panics.
func Decode(raw []byte) (*Tx, *Error) {
	if len(raw) > MaxTxBytes {
		return nil, Errorf(CodeTooLarge, "transaction is %d bytes, limit is %d", len(raw), MaxTxBytes)
	}
	var t Tx
	if err := t.Unmarshal(raw); err != nil {
		return nil, Errorf(CodeMalformed, "transaction does not decode: %v", err)
	}
	canonical, err := t.Marshal()
	if err != nil || !bytes.Equal(canonical, raw) {
		return nil, Errorf(CodeMalformed, "transaction is not canonically encoded")
	}
	if e := t.checkFields(); e != nil {
		return nil, e
	}
	return &t, nil
}

func (m *Tx) checkFields() *Error {
	tr := &m.Transfer
	switch {
	case len(tr.ChainId) == 0 || len(tr.ChainId) > MaxChainIDSize:
		return Errorf(CodeMalformed, "chain_id must be 1 to %d bytes", MaxChainIDSize)
	case len(tr.FromPubKey) != PubKeySize:
		return Errorf(CodeMalformed, "from_pub_key must be %d bytes, got %d", PubKeySize, len(tr.FromPubKey))
	case len(tr.To) != AddressSize:
		return Errorf(CodeMalformed, "to must be %d bytes, got %d", AddressSize, len(tr.To))
	case len(m.Signature) != SignatureSize:
		return Errorf(CodeMalformed, "signature must be %d bytes, got %d", SignatureSize, len(m.Signature))
	case len(tr.Memo) > MaxMemoBytes:
		return Errorf(CodeTooLarge, "memo is %d bytes, limit is %d", len(tr.Memo), MaxMemoBytes)
	case tr.Amount == 0:
		return Errorf(CodeInvalidAmount, "amount must be positive")
	case tr.Amount > math.MaxUint64-tr.Fee:
		return Errorf(CodeInvalidAmount, "amount + fee overflows")
	}
	return nil
}

// Cost is what the sender pays: amount plus fee (Decode rules out overflow).
func (m *Tx) Cost() uint64 { return m.Transfer.Amount + m.Transfer.Fee }
