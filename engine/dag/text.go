package dag

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tutti-bft/tutti/engine/types"
)

// TextDAG builds a DAG from the compact text form the protocol tests are written in (and
// the simulator can reuse). Validators are letters A, B, C...; block "C4" is C's block at
// round 4 and "C4'" its equivocating twin; round 0 is the genesis round. A line
//
//	round 3: A -> [A2 B2 C2], B -> [* -D2], D' -> [*], C
//
// adds A's round-3 block with parents A2, B2, C2; B's with every round-2 block but D2;
// a twin of D's block; and C's with every round-2 block ("C" alone means "C -> [*]", and
// "round 3: *" gives every validator such a block). "*" takes the first block of each
// round-2 slot. The author's own previous block is always put first. Blocks go through
// the DAG's full validation and are signed by deterministic test keys.
type TextDAG struct {
	DAG       *DAG
	Epoch     types.Epoch
	ChainID   string
	Signers   []*types.MemSigner
	blocks    []*types.Block
	byName    map[string]*types.Block
	names     map[types.Ref]string
	ownLatest []*types.Block
}

// NewTextDAG makes a committee with the given powers and an empty DAG at genesis round 0.
func NewTextDAG(powers []int64) (*TextDAG, error) {
	if len(powers) > 26 {
		return nil, fmt.Errorf("text DAGs name validators A-Z: %d is too many", len(powers))
	}
	signers := make([]*types.MemSigner, len(powers))
	vals := make([]types.Validator, len(powers))
	for i, p := range powers {
		signers[i] = types.NewMemSigner([]byte("text-dag-validator-" + strconv.Itoa(i)))
		vals[i] = types.Validator{PubKey: signers[i].PubKey(), Power: p}
	}
	c, err := types.NewCommittee(vals)
	if err != nil {
		return nil, err
	}
	t := &TextDAG{Epoch: types.Epoch{Number: 1, Committee: c, GenesisTimeMs: 0}, ChainID: "text-chain",
		Signers: signers, byName: map[string]*types.Block{}, names: map[types.Ref]string{},
		ownLatest: make([]*types.Block, len(powers))}
	t.DAG = New(Config{ChainID: t.ChainID, Epoch: t.Epoch, Limits: types.DefaultBlockLimits(), Verifier: types.Ed25519Verifier{}})
	for _, g := range t.Epoch.GenesisBlocks() {
		t.record(g, Letter(g.Author)+"0")
		t.ownLatest[g.Author] = g
	}
	return t, nil
}

// Letter names a validator index.
func Letter(author int) string { return string(rune('A' + author)) }

// Name returns a block's text name ("B3", "D2'"), or its ref if it was not built here.
func (t *TextDAG) Name(r types.Ref) string {
	if n, ok := t.names[r]; ok {
		return n
	}
	return r.String()
}

// Block returns a block by its text name.
func (t *TextDAG) Block(name string) *types.Block { return t.byName[name] }

// Blocks lists every non-genesis block in creation order.
func (t *TextDAG) Blocks() []*types.Block { return t.blocks }

func (t *TextDAG) record(b *types.Block, name string) {
	t.byName[name] = b
	t.names[b.Ref()] = name
}

// Line applies one line of the text form ("round ..."); blank lines and # comments are
// ignored.
func (t *TextDAG) Line(line string) error {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return nil
	}
	head, body, ok := strings.Cut(line, ":")
	if !ok || !strings.HasPrefix(head, "round ") {
		return fmt.Errorf("want \"round N: ...\", got %q", line)
	}
	round, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(head, "round ")), 10, 64)
	if err != nil || round == 0 {
		return fmt.Errorf("bad round in %q", line)
	}
	var specs []string
	depth := 0
	start := 0
	for i, ch := range body {
		switch ch {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				specs = append(specs, body[start:i])
				start = i + 1
			}
		}
	}
	specs = append(specs, body[start:])
	for _, spec := range specs {
		spec = strings.TrimSpace(spec)
		if spec == "*" {
			for a := 0; a < t.Epoch.Committee.Size(); a++ {
				if _, err := t.addSpec(round, Letter(a), "*"); err != nil {
					return err
				}
			}
			continue
		}
		who, parents, found := strings.Cut(spec, "->")
		if !found {
			parents = "[*]"
		}
		parents = strings.TrimSpace(parents)
		if !strings.HasPrefix(parents, "[") || !strings.HasSuffix(parents, "]") {
			return fmt.Errorf("parents of %q must be in [ ]", spec)
		}
		if _, err := t.addSpec(round, strings.TrimSpace(who), strings.Trim(parents, "[]")); err != nil {
			return err
		}
	}
	return nil
}

func (t *TextDAG) addSpec(round uint64, who, parentSpec string) (*types.Block, error) {
	twin := strings.HasSuffix(who, "'")
	who = strings.TrimSuffix(who, "'")
	if len(who) != 1 || who[0] < 'A' || int(who[0]-'A') >= t.Epoch.Committee.Size() {
		return nil, fmt.Errorf("unknown validator %q", who)
	}
	author := int(who[0] - 'A')
	var parents []*types.Block
	has := map[*types.Block]bool{}
	for _, tok := range strings.Fields(parentSpec) {
		switch {
		case tok == "*":
			for a := 0; a < t.Epoch.Committee.Size(); a++ {
				if b := t.byName[Letter(a)+strconv.FormatUint(round-1, 10)]; b != nil && !has[b] {
					parents = append(parents, b)
					has[b] = true
				}
			}
		case strings.HasPrefix(tok, "-"):
			drop := t.byName[tok[1:]]
			if drop == nil {
				return nil, fmt.Errorf("unknown block %q", tok[1:])
			}
			for i, p := range parents {
				if p == drop {
					parents = append(parents[:i], parents[i+1:]...)
					break
				}
			}
			delete(has, drop)
		default:
			b := t.byName[tok]
			if b == nil {
				return nil, fmt.Errorf("unknown block %q", tok)
			}
			if !has[b] {
				parents = append(parents, b)
				has[b] = true
			}
		}
	}
	return t.AddBlock(author, round, parents, BlockOptions{Twin: twin})
}

// BlockOptions are the optional contents of a built block.
type BlockOptions struct {
	Twin        bool // a second, different block for a slot already filled
	Txs         [][]byte
	Attestation *types.Attestation
	Evidence    []types.Equivocation
}

// AddBlock builds, signs and adds one block. The author's own previous block is moved
// (or added) first.
func (t *TextDAG) AddBlock(author int, round uint64, parents []*types.Block, opt BlockOptions) (*types.Block, error) {
	twin := opt.Twin
	own := t.ownLatest[author]
	if twin && own.Round == round {
		// A twin follows the same own previous block as the first block of its slot.
		own, _ = t.DAG.Get(own.Parents[0])
	}
	refs := []types.Ref{own.Ref()}
	timeMs := own.TimeMs
	for _, p := range parents {
		if p.Ref() == own.Ref() {
			continue
		}
		refs = append(refs, p.Ref())
		if p.TimeMs > timeMs {
			timeMs = p.TimeMs
		}
	}
	name := Letter(author) + strconv.FormatUint(round, 10)
	b := &types.Block{Epoch: t.Epoch.Number, Round: round, Author: author, TimeMs: timeMs + 1000, Parents: refs,
		Txs: opt.Txs, Attestation: opt.Attestation, Evidence: opt.Evidence}
	if twin {
		name += "'"
		b.TimeMs++ // differ from the first block of the slot
	}
	if twin != (t.byName[Letter(author)+strconv.FormatUint(round, 10)] != nil) {
		return nil, fmt.Errorf("block %s: a twin needs a first block and a first block no twin", name)
	}
	b.Signature = t.Signers[author].SignAnyway(types.SignBytes(t.ChainID, b.Round, b.Digest()))
	if _, err := t.DAG.Add(b); err != nil {
		return nil, fmt.Errorf("block %s: %w", name, err)
	}
	t.record(b, name)
	t.blocks = append(t.blocks, b)
	if !twin {
		t.ownLatest[author] = b
	}
	return b, nil
}
