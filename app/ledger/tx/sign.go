package tx

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"github.com/cometbft/cometbft/crypto/ed25519"
)

// signDomain separates ledger transfer signatures from anything else the same
// key may sign (validator votes, other apps); the version lets the layout change.
const signDomain = "tutti/ledger/transfer/v1\x00"

// SignBytes is the canonical byte string a transfer's signature covers. It is a
// fixed layout of the fields, not the protobuf encoding, so that no encoder
// choice can ever change what was signed.
func SignBytes(t *Transfer) []byte {
	b := make([]byte, 0, len(signDomain)+2+len(t.ChainId)+len(t.FromPubKey)+len(t.To)+3*8+2+len(t.Memo)+4)
	b = append(b, signDomain...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.ChainId)))
	b = append(b, t.ChainId...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.FromPubKey)))
	b = append(b, t.FromPubKey...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.To)))
	b = append(b, t.To...)
	b = binary.BigEndian.AppendUint64(b, t.Amount)
	b = binary.BigEndian.AppendUint64(b, t.Fee)
	b = binary.BigEndian.AppendUint64(b, t.Nonce)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.Memo)))
	b = append(b, t.Memo...)
	return b
}

// Sign signs the transfer with key and returns the encoded transaction.
func Sign(key ed25519.PrivKey, t Transfer) ([]byte, error) {
	t.FromPubKey = key.PubKey().Bytes()
	sig, err := key.Sign(SignBytes(&t))
	if err != nil {
		return nil, err
	}
	signed := &Tx{Transfer: t, Signature: sig}
	bz, err := signed.Marshal()
	if err != nil {
		return nil, err
	}
	if len(bz) > MaxTxBytes {
		return nil, errors.New("transaction exceeds the size limit")
	}
	return bz, nil
}

// Hash is the transaction hash CometBFT indexes: sha256 of the raw bytes.
func Hash(raw []byte) [32]byte { return sha256.Sum256(raw) }

// VerifySignature checks the signature of an already decoded transaction.
func (m *Tx) VerifySignature() bool {
	return ed25519.PubKey(m.Transfer.FromPubKey).VerifySignature(SignBytes(&m.Transfer), m.Signature)
}

// Sender is the address of the signing key.
func (m *Tx) Sender() Address { return AddressFromPubKey(m.Transfer.FromPubKey) }

// Recipient is the destination address; Decode guarantees its length.
func (m *Tx) Recipient() Address {
	var a Address
	copy(a[:], m.Transfer.To)
	return a
}
