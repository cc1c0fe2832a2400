package wire

import (
	"fmt"
	"testing"
)

// BenchmarkDecodeBlock decodes a block of 1,000 100-byte transactions: the per-block cost
// every received block pays before validation.
func BenchmarkDecodeBlock(b *testing.B) {
	blk := sample()
	blk.Txs = nil
	for i := 0; i < 1000; i++ {
		blk.Txs = append(blk.Txs, []byte(fmt.Sprintf("%-100d", i)))
	}
	bz, err := Encode(BlockMessage(blk))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bz)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := Decode(bz, DefaultLimits())
		if err != nil || len(m.Block.Txs) != 1000 {
			b.Fatal(err)
		}
	}
}
