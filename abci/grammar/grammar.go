// Package grammar checks the sequence of ABCI calls an app receives against the sequences
// ABCI allows (CometBFT's "expected behavior" grammar, ADR-108), so a test can prove that
// Tutti drives an app exactly as CometBFT would:
//
//	start          = clean-start / recovery
//	clean-start    = info init-chain consensus-exec / state-sync consensus-exec
//	state-sync     = *(offer-snapshot *apply-chunk) offer-snapshot 1*apply-chunk info
//	recovery       = info consensus-exec
//	consensus-exec = *height
//	height         = *(prepare-proposal / process-proposal / extend-vote / verify-vote-extension)
//	                 finalize-block commit
//
// Heights must also follow each other by exactly one. Calls on the mempool and query
// connections (CheckTx, Query, and Info after start) do not take part.
//
// Tutti's one difference, and why: a PrepareProposal or ProcessProposal before
// FinalizeBlock(H) may name a height above H. On CometBFT they name exactly H, the height
// being decided. On Tutti they shape and judge DAG blocks, and ordering runs ahead of
// execution, so they name the next height this node will cut, which may be several above
// the next one the app executes. What holds on both, and is checked when the height is
// recorded: they never name a height the app already finalized.
package grammar

import (
	"fmt"
	"strings"
)

// Call is one recorded ABCI call.
type Call struct {
	Method string // "Info", "InitChain", "FinalizeBlock", ...
	Height int64  // for FinalizeBlock, PrepareProposal and ProcessProposal; 0 if not recorded
}

func (c Call) String() string {
	if c.Height != 0 {
		return fmt.Sprintf("%s(%d)", c.Method, c.Height)
	}
	return c.Method
}

type state int

const (
	stStart     state = iota // nothing yet
	stAfterInfo              // info seen: init-chain or a height may come
	stSyncing                // inside state sync
	stSynced                 // a snapshot chunk was applied; info must follow
	stBetween                // between heights
	stInHeight               // proposal or vote-extension calls of the next height
	stFinalized              // finalize-block seen; commit must follow
)

// Check returns nil if calls form a valid prefix of an ABCI session, or an error naming
// the first call that breaks the grammar and the calls before it.
func Check(calls []Call) error {
	st := stStart
	var lastHeight int64 // last finalized height, 0 before the first
	fail := func(i int, want string) error {
		from := i - 5
		if from < 0 {
			from = 0
		}
		var prev []string
		for _, c := range calls[from:i] {
			prev = append(prev, c.String())
		}
		return fmt.Errorf("ABCI call %d is %s, but %s was expected (after %s)", i, calls[i], want, strings.Join(prev, " "))
	}
	for i, c := range calls {
		switch c.Method {
		case "CheckTx", "Query", "Echo", "Flush", "ListSnapshots", "LoadSnapshotChunk", "InsertTx", "ReapTxs":
			continue
		case "Info":
			switch st {
			case stStart:
				st = stAfterInfo
			case stSynced:
				st = stBetween
			}
			continue // Info later on is a query-connection call
		}
		switch st {
		case stStart:
			if c.Method != "OfferSnapshot" {
				return fail(i, "Info or OfferSnapshot")
			}
			st = stSyncing
		case stSyncing, stSynced:
			switch c.Method {
			case "OfferSnapshot":
				st = stSyncing
			case "ApplySnapshotChunk":
				st = stSynced
			default:
				return fail(i, "OfferSnapshot, ApplySnapshotChunk or Info")
			}
		case stAfterInfo, stBetween, stInHeight:
			switch c.Method {
			case "InitChain":
				if st != stAfterInfo {
					return fail(i, "a height's calls (InitChain only right after the first Info)")
				}
				st = stBetween
			case "PrepareProposal", "ProcessProposal", "ExtendVote", "VerifyVoteExtension":
				if c.Height != 0 && c.Height <= lastHeight {
					return fail(i, fmt.Sprintf("a height above the finalized %d", lastHeight))
				}
				st = stInHeight
			case "FinalizeBlock":
				if lastHeight != 0 && c.Height != lastHeight+1 {
					return fail(i, fmt.Sprintf("FinalizeBlock(%d)", lastHeight+1))
				}
				lastHeight = c.Height
				st = stFinalized
			default:
				return fail(i, "PrepareProposal, ProcessProposal or FinalizeBlock")
			}
		case stFinalized:
			if c.Method != "Commit" {
				return fail(i, "Commit")
			}
			st = stBetween
		}
	}
	return nil
}
