package core_test

import (
	"fmt"
	. "github.com/tutti-bft/tutti/engine/core"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/types"
)

// benchDAG pre-builds rounds of full blocks (each references every block of the previous
// round) with txsPerBlock transactions of about 100 bytes each, signed by real keys.
func benchDAG(b *testing.B, n, rounds, txsPerBlock int) (Config, []*types.Block, []*types.MemSigner) {
	powers := make([]int64, n)
	for i := range powers {
		powers[i] = 1
	}
	com, signers := testCommittee(b, powers)
	cfg := testConfig(com)
	cfg.Cut.MaxEmptyIntervalMs = 0
	prev := cfg.Epoch.GenesisBlocks()
	var all []*types.Block
	for r := 1; r <= rounds; r++ {
		round := cfg.Epoch.StartRound + uint64(r)
		cur := make([]*types.Block, n)
		for a := 0; a < n; a++ {
			parents := []types.Ref{prev[a].Ref()}
			for p := 0; p < n; p++ {
				if p != a {
					parents = append(parents, prev[p].Ref())
				}
			}
			txs := make([][]byte, txsPerBlock)
			for i := range txs {
				txs[i] = []byte(fmt.Sprintf("%-100s", fmt.Sprintf("tx r%d a%d i%d", r, a, i)))
			}
			blk := &types.Block{Epoch: 1, Round: round, Author: a, TimeMs: cfg.Epoch.GenesisTimeMs + int64(r)*100,
				Parents: parents, Txs: txs}
			blk.Signature = signers[a].SignAnyway(types.SignBytes(cfg.ChainID, round, blk.Digest()))
			cur[a] = blk
			all = append(all, blk)
		}
		prev = cur
	}
	return cfg, all, signers
}

// BenchmarkCoreAcceptAndOrder feeds pre-signed blocks to a core as if received from
// peers: wire-decoded blocks are verified (ed25519), hashed, stored, decided, linearized
// (1,000 tx hashes per block for dedupe) and cut into ABCI blocks.
func BenchmarkCoreAcceptAndOrder(b *testing.B) {
	for _, n := range []int{4, 10, 20, 50} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			rounds := 400 / n
			if rounds < 8 {
				rounds = 8
			}
			cfg, blocks, signers := benchDAG(b, n, rounds, 1000)
			b.ReportAllocs()
			b.ResetTimer()
			ordered := 0
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				// Fresh copies: a block caches its digest, and a real node decodes each one.
				fresh := make([]*types.Block, len(blocks))
				for j, blk := range blocks {
					c := *blk
					fresh[j] = types.CopyForDecode(&c)
				}
				// Validator 0's blocks arrive from "elsewhere", so this core only receives.
				c, err := New(cfg, 0, signers[0], types.Ed25519Verifier{})
				if err != nil {
					b.Fatal(err)
				}
				now := time.UnixMilli(cfg.Epoch.GenesisTimeMs)
				b.StartTimer()
				for _, blk := range fresh {
					for _, a := range c.Step(now, BlockReceived{From: blk.Author, Block: blk}) {
						if h, ok := a.(Halt); ok {
							b.Fatal(h.Reason)
						}
					}
				}
				ordered += int(c.Stats().Commits)
			}
			b.StopTimer()
			if ordered == 0 {
				b.Fatal("nothing was ordered")
			}
			perOp := float64(len(blocks))
			b.ReportMetric(perOp*float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
			b.ReportMetric(perOp*1000*float64(b.N)/b.Elapsed().Seconds(), "tx/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(perOp*float64(b.N)), "ns/block")
		})
	}
}
