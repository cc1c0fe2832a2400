package order

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tutti-bft/tutti/engine/commit"
	"github.com/tutti-bft/tutti/engine/dag"
)

var rewrite = flag.Bool("rewrite", false, "rewrite expected output in testdata scripts")

// pipeline is the ordering half of a core: decide, linearize, garbage-collect.
type pipeline struct {
	td        *dag.TextDAG
	committer *commit.Committer
	lin       *Linearizer
}

func newPipeline(td *dag.TextDAG, cfg LinearizerConfig) *pipeline {
	c := td.DAG.Committee()
	return &pipeline{td: td, committer: commit.New(td.DAG, c, commit.NewSchedule(c, 0, 0, 0)),
		lin: NewLinearizer(cfg, td.DAG)}
}

// commits returns the commits newly decided.
func (p *pipeline) commits(t testing.TB) []Commit {
	decisions, _, err := p.committer.TryDecide()
	if err != nil {
		t.Fatal(err)
	}
	var out []Commit
	for _, d := range decisions {
		p.committer.Advance(d.Slot)
		if d.Kind == commit.Commit {
			out = append(out, p.lin.Linearize(d.Block))
		}
	}
	if gc := p.lin.GCRound(); gc > p.td.DAG.GCRound() {
		p.td.DAG.SetGCRound(gc)
		p.committer.Prune(gc)
	}
	return out
}

// TestScripts runs testdata/*.txt: the DAG text form (see dag.TextDAG) plus
//
//	committee 1 1 1 1   validators A.. with these powers
//	gcdepth 2           the linearizer's GC depth (default 50)
//	linearize           print each new commit: index, leader, ordered blocks, time
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
		td             *dag.TextDAG
		p              *pipeline
		gcDepth        uint64 = 50
		out, got, want []string
		failed         bool
		lastCmd        string
	)
	flush := func() {
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			failed = true
			t.Errorf("%s: %s\n got:\n  %s\nwant:\n  %s", path, lastCmd, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		for _, g := range got {
			out = append(out, "> "+g)
		}
		got, want, lastCmd = nil, nil, ""
	}
	for _, line := range strings.Split(strings.TrimRight(string(src), "\n"), "\n") {
		if strings.HasPrefix(line, ">") {
			want = append(want, strings.TrimPrefix(strings.TrimPrefix(line, ">"), " "))
			continue
		}
		if lastCmd != "" {
			flush()
		}
		out = append(out, line)
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0 || strings.HasPrefix(fields[0], "#"):
		case fields[0] == "committee":
			var powers []int64
			for _, f := range fields[1:] {
				v, _ := strconv.ParseInt(f, 10, 64)
				powers = append(powers, v)
			}
			if td, err = dag.NewTextDAG(powers); err != nil {
				t.Fatal(err)
			}
		case fields[0] == "gcdepth":
			gcDepth, _ = strconv.ParseUint(fields[1], 10, 64)
		case fields[0] == "round":
			if err := td.Line(line); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		case fields[0] == "linearize":
			if p == nil {
				p = newPipeline(td, LinearizerConfig{GCDepth: gcDepth})
			}
			for _, c := range p.commits(t) {
				var names []string
				for _, b := range c.Blocks {
					names = append(names, td.Name(b.Ref()))
				}
				got = append(got, fmt.Sprintf("#%d %s: %s t=%d", c.Index, td.Name(c.Leader.Ref()), strings.Join(names, " "), c.TimeMs))
			}
			lastCmd = line
		default:
			t.Fatalf("%s: unknown command %q", path, line)
		}
	}
	if lastCmd != "" {
		flush()
	}
	if *rewrite && failed {
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
