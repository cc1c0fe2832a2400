package grammar

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
)

func parseCalls(t *testing.T, words []string) []Call {
	t.Helper()
	var calls []Call
	for _, w := range words {
		if method, rest, ok := strings.Cut(w, "("); ok {
			height, hash, _ := strings.Cut(strings.TrimSuffix(rest, ")"), ",")
			h, err := strconv.ParseInt(height, 10, 64)
			if err != nil {
				t.Fatalf("bad call %q", w)
			}
			calls = append(calls, Call{Method: method, Height: h, Hash: hash})
			continue
		}
		calls = append(calls, Call{Method: w})
	}
	return calls
}

func TestSequencesFromTestdata(t *testing.T) {
	f, err := os.Open("testdata/sequences.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	cases := 0
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		words := strings.Fields(text)
		calls := parseCalls(t, words[1:])
		abciErr, tuttiErr := Check(calls), CheckTutti(calls)
		var wantABCI, wantTutti bool
		switch words[0] {
		case "ok":
			wantABCI, wantTutti = true, true
		case "abci-only":
			wantABCI = true
		case "bad":
		default:
			t.Fatalf("line %d: want ok, abci-only or bad", line)
		}
		if (abciErr == nil) != wantABCI {
			t.Errorf("line %d: Check says %v, want valid=%v: %s", line, abciErr, wantABCI, text)
		}
		if (tuttiErr == nil) != wantTutti {
			t.Errorf("line %d: CheckTutti says %v, want valid=%v: %s", line, tuttiErr, wantTutti, text)
		}
		cases++
	}
	if cases < 20 {
		t.Fatalf("only %d cases read", cases)
	}
}

func TestRecorderSeesWhatTheAppSees(t *testing.T) {
	rec := NewRecorder(kvstore.NewInMemoryApplication())
	ctx := context.Background()
	if _, err := rec.Info(ctx, &abci.RequestInfo{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.InitChain(ctx, &abci.RequestInitChain{ChainId: "g"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1}); err != nil {
		t.Fatal(err)
	}
	if err := Check(rec.Calls()); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 2}); err != nil {
		t.Fatal(err)
	}
	if err := Check(rec.Calls()); err == nil || !strings.Contains(err.Error(), "Commit was expected") {
		t.Fatalf("missing Commit not caught: %v", err)
	}
}

// The recorder keeps what the checks need: the initial height, heights and block hashes.
func TestRecorderKeepsHeightsAndHashes(t *testing.T) {
	rec := NewRecorder(kvstore.NewInMemoryApplication())
	ctx := context.Background()
	if _, err := rec.Info(ctx, &abci.RequestInfo{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.InitChain(ctx, &abci.RequestInitChain{ChainId: "g", InitialHeight: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.ProcessProposal(ctx, &abci.RequestProcessProposal{Height: 3, Hash: []byte{0xab}}); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 3, Hash: []byte{0xcd}}); err != nil {
		t.Fatal(err)
	}
	calls := rec.Calls()
	if got := calls[1].String() + " " + calls[2].String() + " " + calls[3].String(); got != "InitChain(3) ProcessProposal(3,AB) FinalizeBlock(3,CD)" {
		t.Fatalf("recorded %s", got)
	}
	if err := Check(calls); err != nil {
		t.Fatalf("valid ABCI refused: %v", err)
	}
	if err := CheckTutti(calls); err == nil || !strings.Contains(err.Error(), "asked about") {
		t.Fatalf("FinalizeBlock of another block than ProcessProposal's not caught: %v", err)
	}
}
