package commit

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tutti-bft/tutti/engine/dag"
)

var rewrite = flag.Bool("rewrite", false, "rewrite expected output in testdata scripts")

// TestScripts runs the protocol scripts in testdata/. A script builds a DAG in the text
// form (see dag.TextDAG), runs commands and lists the expected output under each command
// on lines starting with "> ".
//
//	committee 1 1 1 1   validators A.. with these powers (first line)
//	leaders 2           leader slots per round (default: all)
//	round 3: ...        add blocks
//	decide              run the decision rules; print each output decision and the
//	                    undecided slot that stops the output, if any
//	gc 5                evict rounds <= 5
func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runScript(t, f) })
	}
}

func runScript(t *testing.T, path string) {
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		td        *dag.TextDAG
		committer *Committer
		leaders   int
		out       []string // rewritten file
		got       []string // output of the last command
		want      []string
		failed    bool
	)
	flush := func(cmd string) {
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			failed = true
			t.Errorf("%s: %s\n got:\n  %s\nwant:\n  %s", path, cmd, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		for _, g := range got {
			out = append(out, "> "+g)
		}
		got, want = nil, nil
	}
	lastCmd := ""
	for _, line := range strings.Split(strings.TrimRight(string(src), "\n"), "\n") {
		if strings.HasPrefix(line, "> ") || line == ">" {
			want = append(want, strings.TrimPrefix(strings.TrimPrefix(line, ">"), " "))
			continue
		}
		if lastCmd != "" {
			flush(lastCmd)
			lastCmd = ""
		}
		out = append(out, line)
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0 || strings.HasPrefix(fields[0], "#"):
		case fields[0] == "committee":
			var powers []int64
			for _, f := range fields[1:] {
				p, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				powers = append(powers, p)
			}
			if td, err = dag.NewTextDAG(powers); err != nil {
				t.Fatal(err)
			}
		case fields[0] == "leaders":
			leaders, _ = strconv.Atoi(fields[1])
		case fields[0] == "round":
			if err := td.Line(line); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		case fields[0] == "decide":
			if committer == nil {
				committer = New(td.DAG, td.DAG.Committee(), NewSchedule(td.DAG.Committee(), leaders, 0, 0))
			}
			decisions, stop, err := committer.TryDecide()
			if err != nil {
				got = append(got, "error: "+err.Error())
			}
			for _, d := range decisions {
				got = append(got, describe(td, d))
				committer.Advance(d.Slot)
			}
			if stop != nil {
				got = append(got, fmt.Sprintf("undecided %s%d", dag.Letter(stop.Author), stop.Round))
			}
			lastCmd = line
		case fields[0] == "gc":
			r, _ := strconv.ParseUint(fields[1], 10, 64)
			td.DAG.SetGCRound(r)
			committer.Prune(r)
			a, s := td.DAG.Size()
			got = append(got, fmt.Sprintf("held %d suspended %d", a, s))
			lastCmd = line
		default:
			t.Fatalf("%s: unknown command %q", path, line)
		}
	}
	if lastCmd != "" {
		flush(lastCmd)
	}
	if *rewrite && failed {
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func describe(td *dag.TextDAG, d Decision) string {
	name := fmt.Sprintf("%s%d", dag.Letter(d.Slot.Author), d.Slot.Round)
	if d.Kind == Commit {
		name = td.Name(d.Block.Ref())
	}
	how := "direct"
	if !d.Direct {
		how = "indirect via " + td.Name(d.Anchor)
	}
	return fmt.Sprintf("%s %s (%s)", d.Kind, name, how)
}
