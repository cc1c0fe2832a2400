package main

import (
	"strings"
	"testing"
)

func TestSimOneSeedPrintsASummary(t *testing.T) {
	out := run(t, "sim", "--seed", "3", "--nodes", "4", "--byzantine", "0", "--calm", "--duration", "5s")
	for _, want := range []string{"seed 3: 4 validators", "transactions:", "ok"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSimRangePrintsTheFigures(t *testing.T) {
	out := run(t, "sim", "--seeds", "1-4", "--nodes", "4", "--byzantine", "0", "--calm", "--duration", "5s", "--replay-every", "2")
	for _, want := range []string{"seeds: 4", "violations: S1 0", "determinism: 2 of 2 replays identical", "failed seeds: 0"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSimRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"sim", "--seeds", "9-3"}, {"sim", "--plant", "gremlins"}, {"sim", "--seed", "1", "--seeds", "1-2"}} {
		root := newRootCommand()
		root.SetArgs(args)
		root.SetOut(&strings.Builder{})
		if err := root.Execute(); err == nil {
			t.Fatalf("tutti %s succeeded", strings.Join(args, " "))
		}
	}
}
