package order

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tutti-bft/tutti/engine/types"
)

// TestCutScripts runs testdata/cut/*.txt: scripted commits fed to a Cutter, each followed
// by the block it closed, if any.
//
//	committee 1 1 1 1        validators A.. with these powers
//	straggler 300            CutConfig.StragglerWaitMs
//	target 200               CutConfig.TargetIntervalMs
//	commit r=5 leader=B [t=MS] [txs=x,y] [attest=A,B] [fork=C] [attest-old=D:H]
//	                         a commit of leader round 5 by B (time MS, default r*100),
//	                         holding those transactions and attestations of the last
//	                         closed block by A and B (the agreed app hash), C (another
//	                         app hash), D of height H (an old block, by height only)
//
// A closed block prints as "block H at r=R: signed A B, absent C D" (no lists for the
// first height, which has no last commit).
func TestCutScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/cut/*.txt")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runCutScript(t, f) })
	}
}

func runCutScript(t *testing.T, path string) {
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		com            *types.Committee
		cfg            = CutConfig{ChainID: "c", InitialAppHash: []byte("genesis")}
		cut            *Cutter
		closed         []ABCIBlock
		index          uint64
		out, got, want []string
		failed         bool
		lastCmd        string
	)
	name := func(i int) string { return string(rune('A' + i)) }
	author := func(s string) int {
		if len(s) != 1 || s[0] < 'A' || int(s[0]-'A') >= com.Size() {
			t.Fatalf("%s: no validator %q", path, s)
		}
		return int(s[0] - 'A')
	}
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
			vals := make([]types.Validator, len(fields)-1)
			for i, f := range fields[1:] {
				p, _ := strconv.ParseInt(f, 10, 64)
				vals[i] = types.Validator{PubKey: []byte{byte(i)}, Power: p}
			}
			if com, err = types.NewCommittee(vals); err != nil {
				t.Fatal(err)
			}
		case fields[0] == "straggler":
			cfg.StragglerWaitMs, _ = strconv.ParseInt(fields[1], 10, 64)
		case fields[0] == "target":
			cfg.TargetIntervalMs, _ = strconv.ParseInt(fields[1], 10, 64)
		case fields[0] == "commit":
			if cut == nil {
				cut = NewCutter(cfg, com, 0, 0, 0)
			}
			index++
			cm := Commit{Index: index}
			var round uint64
			timeMs := int64(-1)
			for _, f := range fields[1:] {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "r":
					round, _ = strconv.ParseUint(v, 10, 64)
				case "leader":
					cm.Leader = &types.Block{Author: author(v)}
				case "t":
					timeMs, _ = strconv.ParseInt(v, 10, 64)
				case "txs":
					for _, tx := range strings.Split(v, ",") {
						cm.Txs = append(cm.Txs, []byte(tx))
						cm.TxBytes += len(tx)
					}
				case "attest", "fork":
					last := closed[len(closed)-1]
					app := "app"
					if k == "fork" {
						app = "forked"
					}
					for _, a := range strings.Split(v, ",") {
						cm.Attestations = append(cm.Attestations, AuthoredAttestation{Author: author(a), Attestation: &types.Attestation{
							ChainID: "c", Height: last.Height, BlockHash: last.Hash, AppHash: []byte(app), NextValidatorsHash: com.Hash()}})
					}
				case "attest-old":
					a, h, _ := strings.Cut(v, ":")
					height, _ := strconv.ParseInt(h, 10, 64)
					cm.Attestations = append(cm.Attestations, AuthoredAttestation{Author: author(a), Attestation: &types.Attestation{
						ChainID: "c", Height: height, BlockHash: []byte("old"), AppHash: []byte("app"), NextValidatorsHash: com.Hash()}})
				default:
					t.Fatalf("%s: unknown field %q", path, f)
				}
			}
			if cm.Leader == nil {
				t.Fatalf("%s: commit without leader: %q", path, line)
			}
			cm.Leader.Round = round
			cm.TimeMs = timeMs
			if timeMs < 0 {
				cm.TimeMs = int64(round) * 100
			}
			for _, b := range cut.Add(cm) {
				closed = append(closed, b)
				if len(b.DecidedLastCommit) == 0 {
					got = append(got, fmt.Sprintf("block %d at r=%d", b.Height, round))
					continue
				}
				var signed, absent []string
				for _, v := range b.DecidedLastCommit {
					if v.Signed {
						signed = append(signed, name(v.ValidatorIndex))
					} else {
						absent = append(absent, name(v.ValidatorIndex))
					}
				}
				line := fmt.Sprintf("block %d at r=%d: signed %s", b.Height, round, strings.Join(signed, " "))
				if len(absent) > 0 {
					line += ", absent " + strings.Join(absent, " ")
				}
				got = append(got, line)
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
