package core_test

import (
	"bytes"
	"flag"
	"fmt"
	. "github.com/tutti-bft/tutti/engine/core"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tutti-bft/tutti/engine/dag"
	"github.com/tutti-bft/tutti/engine/types"
)

var rewrite = flag.Bool("rewrite", false, "rewrite expected output in testdata scripts")

// TestEpochScripts runs testdata/epochs/*.txt: a cluster of in-process cores whose tiny app
// returns the validator updates the script names, then what the chain made of them.
//
//	nodes 5 committee 4 seed 21   nodes A.. (power 1); the first 4 form the genesis committee
//	min_epoch_rounds 40           the cut's minimum epoch length (default: none)
//	gc_depth 20                   the DAG's GC depth
//	update 3: E=1 D=0             the app returns these updates at height 3 (effective at 5)
//	churn 2-60: D                 at every height in the range the app changes D's power
//	run 6s                        virtual time, with transactions offered every 50ms
//	epochs                        node A's epochs: heights, rounds, committee
//	gc                            node A's DAGs: rounds and blocks held, past epochs kept
//
// Every run also checks, on every node: agreement block by block, each finished epoch at
// least min_epoch_rounds long, no DAG holding a block at or below its GC round, and at
// most KeptEpochs finished epochs kept. Expected lines start with ">"; -rewrite updates them.
func TestEpochScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/epochs/*.txt")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runEpochScript(t, f) })
	}
}

type epochScript struct {
	t         *testing.T
	cl        *cluster
	minRounds uint64
	gcDepth   uint64
	started   bool
	seen      []map[uint64]types.Epoch // per node: every epoch it delivered blocks of
}

func runEpochScript(t *testing.T, path string) {
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := &epochScript{t: t, gcDepth: 20}
	var out, got, want []string
	var lastCmd string
	failed := false
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
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch fields[0] {
		case "nodes":
			s.newCluster(fields)
		case "min_epoch_rounds":
			s.minRounds = s.uint(fields[1])
		case "gc_depth":
			s.gcDepth = s.uint(fields[1])
		case "update":
			h := int64(s.uint(strings.TrimSuffix(fields[1], ":")))
			for _, f := range fields[2:] {
				name, power, _ := strings.Cut(f, "=")
				p, err := strconv.ParseInt(power, 10, 64)
				if err != nil {
					t.Fatalf("%s: bad power in %q", path, f)
				}
				s.cl.updates[h] = append(s.cl.updates[h], ValidatorUpdate{PubKey: s.key(name), Power: p})
			}
		case "churn":
			from, to, _ := strings.Cut(strings.TrimSuffix(fields[1], ":"), "-")
			for h := int64(s.uint(from)); h <= int64(s.uint(to)); h++ {
				// Alternate 2 and 3: every height changes the set, as an app punishing an
				// equivocator in every block does.
				s.cl.updates[h] = append(s.cl.updates[h], ValidatorUpdate{PubKey: s.key(fields[2]), Power: 2 + h%2})
			}
		case "run":
			d, err := time.ParseDuration(fields[1])
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			s.run(d)
		case "epochs":
			got = s.epochs()
			lastCmd = line
		case "gc":
			got = s.gc()
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

func (s *epochScript) uint(v string) uint64 {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		s.t.Fatalf("bad number %q", v)
	}
	return n
}

// newCluster reads "nodes N committee M seed S".
func (s *epochScript) newCluster(fields []string) {
	if len(fields) != 6 || fields[2] != "committee" || fields[4] != "seed" {
		s.t.Fatalf("want: nodes N committee M seed S, got %q", strings.Join(fields, " "))
	}
	n, m, seed := int(s.uint(fields[1])), int(s.uint(fields[3])), s.uint(fields[5])
	// The cores are built at the first run, once the script set the parameters.
	s.cl, _, _ = newEpochCluster(s.t, n, m, seed, nil)
	s.cl.cores, s.cl.drivers = nil, nil
}

func (s *epochScript) key(name string) []byte {
	i := int(name[0] - 'A')
	if len(name) != 1 || i < 0 || i >= s.cl.n {
		s.t.Fatalf("no node %q", name)
	}
	return s.cl.signers[i].PubKey()
}

func (s *epochScript) name(pub []byte) string {
	for i, sg := range s.cl.signers {
		if bytes.Equal(sg.PubKey(), pub) {
			return string(rune('A' + i))
		}
	}
	return "?"
}

func (s *epochScript) run(d time.Duration) {
	cl := s.cl
	if !s.started {
		com, err := types.NewCommittee(cl.sets[0][0])
		if err != nil {
			s.t.Fatal(err)
		}
		for i := 0; i < cl.n; i++ {
			cfg := testConfig(com)
			cfg.Cut.MinEpochRounds, cfg.GCDepth = s.minRounds, s.gcDepth
			self := com.IndexOf(cl.signers[i].PubKey())
			c, err := New(cfg, self, cl.signers[i], types.Ed25519Verifier{})
			if err != nil {
				s.t.Fatal(err)
			}
			cl.setCore(i, c, nil)
			cl.step(i, Restart{})
		}
		s.started = true
		s.seen = make([]map[uint64]types.Epoch, cl.n)
		for i := range s.seen {
			s.seen[i] = map[uint64]types.Epoch{}
		}
		cl.observe = func(i int, a Action) {
			if d, ok := a.(DeliverABCIBlock); ok && d.Block.Epoch == cl.cores[i].Epoch().Number {
				s.seen[i][d.Block.Epoch] = cl.cores[i].Epoch()
			}
		}
	}
	for end := cl.now.Add(d); cl.now.Before(end); {
		if cl.now.UnixMilli()%50 == 0 {
			cl.offerTxs(3)
		}
		cl.tick()
	}
	cl.checkAgreement(1)
	for i, c := range cl.cores {
		s.checkInvariants(i, c)
	}
}

// epochRange is one epoch as node A saw it.
type epochRange struct {
	number       uint64
	firstHeight  int64
	lastHeight   int64
	startRound   uint64
	closingRound uint64 // the last committed leader's round (0 while the epoch runs)
	committee    *types.Committee
	stillRunning bool
}

// epochsOf reconstructs a node's epochs from its chain and the DAGs it keeps.
func (s *epochScript) epochsOf(i int) []epochRange {
	c := s.cl.cores[i]
	dags := s.seen[i]
	var out []epochRange
	for _, b := range s.cl.blocks[i] {
		if len(out) == 0 || out[len(out)-1].number != b.Epoch {
			ep := dags[b.Epoch]
			out = append(out, epochRange{number: b.Epoch, firstHeight: b.Height, startRound: ep.StartRound, committee: ep.Committee})
		}
		out[len(out)-1].lastHeight = b.Height
	}
	for k := range out {
		if k+1 < len(out) {
			// The next epoch's genesis round is the closing leader's round + MaxUncommittedRounds + 1.
			out[k].closingRound = out[k+1].startRound - c.Config().MaxUncommittedRounds - 1
		}
	}
	if len(out) > 0 {
		out[len(out)-1].stillRunning = true
	}
	return out
}

func (s *epochScript) checkInvariants(i int, c *Core) {
	for _, ep := range s.epochsOf(i) {
		if ep.stillRunning {
			continue
		}
		if ep.closingRound < ep.startRound+s.minRounds {
			s.t.Fatalf("node %d: epoch %d lasted rounds %d-%d, shorter than min_epoch_rounds %d",
				i, ep.number, ep.startRound, ep.closingRound, s.minRounds)
		}
	}
	_, past := c.PastDAGs()
	if len(past) > KeptEpochs {
		s.t.Fatalf("node %d keeps %d finished epochs, at most %d", i, len(past), KeptEpochs)
	}
	dags := append([]*dag.DAG{c.DAG()}, past...)
	for _, d := range dags {
		for r := d.Epoch().StartRound; r <= d.GCRound(); r++ {
			if len(d.RoundBlocks(r)) > 0 {
				s.t.Fatalf("node %d epoch %d holds blocks of round %d, at or below its GC round %d", i, d.Epoch().Number, r, d.GCRound())
			}
		}
	}
}

func (s *epochScript) epochs() []string {
	var lines []string
	for _, ep := range s.epochsOf(0) {
		var names []string
		for _, v := range ep.committee.Validators {
			names = append(names, fmt.Sprintf("%s=%d", s.name(v.PubKey), v.Power))
		}
		heights := fmt.Sprintf("heights %d-%d", ep.firstHeight, ep.lastHeight)
		rounds := fmt.Sprintf("rounds %d-%d", ep.startRound, ep.closingRound)
		if ep.stillRunning {
			heights, rounds = fmt.Sprintf("heights %d-", ep.firstHeight), fmt.Sprintf("rounds %d-", ep.startRound)
		}
		lines = append(lines, fmt.Sprintf("epoch %d: %s, %s, committee %s", ep.number, heights, rounds, strings.Join(names, " ")))
	}
	return lines
}

func (s *epochScript) gc() []string {
	c := s.cl.cores[0]
	describe := func(label string, d *dag.DAG) string {
		accepted, _ := d.Size()
		return fmt.Sprintf("%s: gc round %d, highest round %d, %d blocks held", label, d.GCRound(), d.HighestRound(), accepted)
	}
	lines := []string{describe(fmt.Sprintf("epoch %d (running)", c.Epoch().Number), c.DAG())}
	numbers, past := c.PastDAGs()
	for k, d := range past {
		lines = append(lines, describe(fmt.Sprintf("epoch %d (kept)", numbers[k]), d))
	}
	return lines
}
