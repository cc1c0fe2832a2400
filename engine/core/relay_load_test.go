package core_test

import (
	"fmt"
	. "github.com/tutti-bft/tutti/engine/core"
	"testing"
)

// Under load every validator keeps receiving relayed transactions just before its own
// clients' ones, so a transaction waits for one admitted a moment earlier elsewhere, which
// waits for the one before it. Waiting until each is in the history (the strict rule)
// lets the wait grow with every switch between owners: in this run only 2,768 of 8,000
// transactions were committed and the queues kept growing. With the release after
// releaseRounds the rule costs almost nothing: the same run commits as much as one without
// the rule.
func TestRelayOrderRuleKeepsUpUnderLoad(t *testing.T) {
	run := func(rule bool) (sent, committed int) {
		cl := newCluster(t, 4, 31, nil)
		for i := 0; i < cl.n; i++ {
			cl.step(i, Restart{})
		}
		seqs := make([]uint64, cl.n)
		for tick := 0; tick < 2000; tick++ { // 10 s of 5 ms ticks, 800 tx/s round robin
			for k := 0; k < 4; k++ {
				owner := (tick*4 + k) % cl.n
				tx := fmt.Sprintf("load-%d", sent)
				sent++
				barrier := uint64(0)
				if rule {
					barrier = seqs[owner]
				}
				cl.step(owner, PayloadAvailable{Txs: [][]byte{[]byte(tx)}, AfterRelayed: barrier})
				for j := 0; j < cl.n; j++ {
					if j != owner {
						seqs[j]++
						cl.step(j, TxsRelayed{Txs: []RelayedTx{{Seq: seqs[j], Tx: []byte(tx), Owner: cl.signers[owner].PubKey()}}})
					}
				}
			}
			cl.tick()
		}
		cl.checkAgreement(50)
		for _, b := range cl.blocks[0] {
			committed += len(b.Txs)
		}
		return sent, committed
	}
	sent, with := run(true)
	_, without := run(false)
	t.Logf("%d sent over 10 s: %d committed with the order rule, %d without", sent, with, without)
	if with < without*97/100 {
		t.Fatalf("the order rule cut what was committed from %d to %d", without, with)
	}
}
