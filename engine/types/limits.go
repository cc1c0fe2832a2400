package types

import "fmt"

// BlockLimits bound what one DAG block may carry. The wire decoder and the DAG both
// enforce them, so a peer cannot make us hold an arbitrarily large block.
type BlockLimits struct {
	MaxParents      int
	MaxTxs          int
	MaxTxBytes      int // one transaction
	MaxPayloadBytes int // all transactions of the block
	MaxEvidence     int
	MaxHashBytes    int // any hash or chain id inside an attestation
	MaxSignature    int
}

// DefaultBlockLimits fit 1,000-validator committees and a few MB of payload per block.
func DefaultBlockLimits() BlockLimits {
	return BlockLimits{MaxParents: 2 * MaxValidators, MaxTxs: 20000, MaxTxBytes: 1 << 20,
		MaxPayloadBytes: 4 << 20, MaxEvidence: 16, MaxHashBytes: 64, MaxSignature: 128}
}

// CheckShape rejects a block whose fields exceed the limits.
func (l BlockLimits) CheckShape(b *Block) error {
	if len(b.Parents) > l.MaxParents {
		return fmt.Errorf("%d parents exceed %d", len(b.Parents), l.MaxParents)
	}
	if len(b.Txs) > l.MaxTxs {
		return fmt.Errorf("%d txs exceed %d", len(b.Txs), l.MaxTxs)
	}
	total := 0
	for i, tx := range b.Txs {
		if len(tx) == 0 {
			return fmt.Errorf("tx %d is empty", i)
		}
		if len(tx) > l.MaxTxBytes {
			return fmt.Errorf("tx %d has %d bytes, max %d", i, len(tx), l.MaxTxBytes)
		}
		total += len(tx)
	}
	if total > l.MaxPayloadBytes {
		return fmt.Errorf("payload of %d bytes exceeds %d", total, l.MaxPayloadBytes)
	}
	if len(b.Evidence) > l.MaxEvidence {
		return fmt.Errorf("%d evidence items exceed %d", len(b.Evidence), l.MaxEvidence)
	}
	if len(b.Signature) > l.MaxSignature {
		return fmt.Errorf("signature of %d bytes exceeds %d", len(b.Signature), l.MaxSignature)
	}
	for i, e := range b.Evidence {
		if len(e.SignatureA) > l.MaxSignature || len(e.SignatureB) > l.MaxSignature {
			return fmt.Errorf("evidence %d: signature too long", i)
		}
	}
	if a := b.Attestation; a != nil {
		if len(a.ChainID) > l.MaxHashBytes || len(a.BlockHash) > l.MaxHashBytes || len(a.AppHash) > l.MaxHashBytes ||
			len(a.ResultsHash) > l.MaxHashBytes || len(a.NextValidatorsHash) > l.MaxHashBytes {
			return fmt.Errorf("attestation field exceeds %d bytes", l.MaxHashBytes)
		}
		if a.Height <= 0 {
			return fmt.Errorf("attestation height %d, want > 0", a.Height)
		}
	}
	return nil
}
