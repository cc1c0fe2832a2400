package types

// Epoch is a span of DAG rounds run by one committee. Round numbers keep increasing across
// epochs (StartRound of the next epoch is above every round of this one) so a signer's
// double-sign watermark, kept per round, never has to move backwards.
type Epoch struct {
	Number        uint64
	StartRound    uint64 // the genesis round: implicit blocks, one per validator
	GenesisTimeMs int64
	Committee     *Committee
}

// GenesisBlocks are the implicit round-StartRound blocks every validator starts from. They
// are unsigned, carry nothing, and exist so every later block has an own previous block to
// list first.
func (e Epoch) GenesisBlocks() []*Block {
	out := make([]*Block, e.Committee.Size())
	for i := range out {
		b := &Block{Epoch: e.Number, Round: e.StartRound, Author: i, TimeMs: e.GenesisTimeMs}
		b.Digest()
		out[i] = b
	}
	return out
}
