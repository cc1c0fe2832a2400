package ledger

import (
	"sync"

	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/tutti-bft/tutti/app/ledger/tx"
)

// decodedTx is one transaction of a block on its way through execution.
type decodedTx struct {
	raw  []byte
	hash [32]byte
	tx   *tx.Tx    // nil if it did not decode
	err  *tx.Error // set once the transaction has failed
}

func decodeBlock(raws [][]byte, chainID string) []decodedTx {
	out := make([]decodedTx, len(raws))
	for i, raw := range raws {
		d := decodedTx{raw: raw, hash: tx.Hash(raw)}
		d.tx, d.err = tx.Decode(raw)
		if d.err == nil && d.tx.Transfer.ChainId != chainID {
			d.err = tx.Errorf(tx.CodeWrongChain, "chain_id %q, this chain is %q", d.tx.Transfer.ChainId, chainID)
		}
		out[i] = d
	}
	return out
}

// verifySignatures marks every transaction whose signature fails. Those
// already verified by CheckTx are skipped; the rest are split across workers,
// each checking its share with one ed25519 batch verification (about twice
// as fast per signature as one by one, and a batch that fails still reports
// each signature's validity).
func verifySignatures(txs []decodedTx, cache *sigCache, workers int) {
	var todo []int
	for i := range txs {
		if txs[i].err == nil && !cache.contains(txs[i].hash) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return
	}
	if workers > len(todo) {
		workers = len(todo)
	}
	var wg sync.WaitGroup
	per := (len(todo) + workers - 1) / workers
	for start := 0; start < len(todo); start += per {
		share := todo[start:min(start+per, len(todo))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			verifyShare(txs, share)
		}()
	}
	wg.Wait()
}

func verifyShare(txs []decodedTx, share []int) {
	bad := func(i int) {
		txs[i].err = tx.Errorf(tx.CodeBadSignature, "signature does not verify for sender %s", txs[i].tx.Sender())
	}
	if len(share) == 1 {
		if !txs[share[0]].tx.VerifySignature() {
			bad(share[0])
		}
		return
	}
	bv := ed25519.NewBatchVerifier()
	added := make([]int, 0, len(share))
	for _, i := range share {
		t := txs[i].tx
		// Add only fails on wrong key or signature sizes, which Decode rules out.
		if err := bv.Add(ed25519.PubKey(t.Transfer.FromPubKey), tx.SignBytes(&t.Transfer), t.Signature); err != nil {
			bad(i)
			continue
		}
		added = append(added, i)
	}
	if ok, valid := bv.Verify(); !ok {
		for j, i := range added {
			if j >= len(valid) || !valid[j] {
				bad(i)
			}
		}
	}
}
