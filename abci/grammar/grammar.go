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
// Heights must also follow each other by exactly one, and a proposal call names the
// height being decided: the one after the last the app committed (the initial height after
// InitChain, the one after Info's last_block_height on a restart). A proposal call naming a
// later height would reach an app whose state is not there yet: the Cosmos SDK's
// ProcessProposal resets its finalize state for any height above the initial one, so
// ProcessProposal(2) before FinalizeBlock(1) throws away the InitChain state and
// FinalizeBlock(1) then fails. Calls on the mempool and query connections (CheckTx, Query,
// and Info after start) do not take part.
//
// CheckTutti adds what Tutti promises beyond the grammar: ProcessProposal is called at most
// once per height, and about exactly the block FinalizeBlock then receives (same hash), so
// an app's optimistic execution of it is never thrown away. CometBFT may ask several times
// per height, once per round.
package grammar

import (
	"fmt"
	"strings"
)

// Call is one recorded ABCI call.
type Call struct {
	Method string // "Info", "InitChain", "FinalizeBlock", ...
	// Height is the height FinalizeBlock, PrepareProposal and ProcessProposal name, the
	// initial height InitChain names, and the last_block_height Info answered; 0 if not
	// recorded (for Info: a fresh app, or unknown).
	Height int64
	// Hash is the block hash ProcessProposal and FinalizeBlock name ("" if not recorded).
	Hash string
}

func (c Call) String() string {
	switch {
	case c.Hash != "":
		return fmt.Sprintf("%s(%d,%s)", c.Method, c.Height, c.Hash)
	case c.Height != 0:
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
func Check(calls []Call) error { return check(calls, false) }

// CheckTutti is Check plus Tutti's promise: at most one ProcessProposal per height, naming
// the block FinalizeBlock then receives.
func CheckTutti(calls []Call) error { return check(calls, true) }

func check(calls []Call, tutti bool) error {
	st := stStart
	var next int64      // the height the app executes next; 0 while unknown
	var processed *Call // this height's ProcessProposal, when Tutti's rule applies
	fail := func(i int, want string) error {
		from := max(i-5, 0)
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
				if c.Height > 0 {
					next = c.Height + 1
				}
			case stSynced:
				st = stBetween
				if c.Height > 0 {
					next = c.Height + 1
				}
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
				next = max(c.Height, 1)
				st = stBetween
			case "PrepareProposal", "ProcessProposal", "ExtendVote", "VerifyVoteExtension":
				if c.Height != 0 && next != 0 && c.Height != next {
					return fail(i, fmt.Sprintf("a call for height %d, the one after the last committed", next))
				}
				if tutti && c.Method == "ProcessProposal" {
					if processed != nil {
						return fail(i, fmt.Sprintf("FinalizeBlock (Tutti asks ProcessProposal once per height; %s came before)", processed))
					}
					processed = &calls[i]
				}
				st = stInHeight
			case "FinalizeBlock":
				if next != 0 && c.Height != next {
					return fail(i, fmt.Sprintf("FinalizeBlock(%d)", next))
				}
				if processed != nil && processed.Hash != c.Hash {
					return fail(i, fmt.Sprintf("FinalizeBlock of the block %s asked about", processed))
				}
				next, processed = c.Height+1, nil
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
