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
			h, err := strconv.ParseInt(strings.TrimSuffix(rest, ")"), 10, 64)
			if err != nil {
				t.Fatalf("bad call %q", w)
			}
			calls = append(calls, Call{Method: method, Height: h})
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
		err := Check(parseCalls(t, words[1:]))
		switch words[0] {
		case "ok":
			if err != nil {
				t.Errorf("line %d: valid session rejected: %v", line, err)
			}
		case "bad":
			if err == nil {
				t.Errorf("line %d: invalid session accepted: %s", line, text)
			}
		default:
			t.Fatalf("line %d: want ok or bad", line)
		}
		cases++
	}
	if cases < 10 {
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
