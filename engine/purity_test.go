package engine

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pureDirs are the packages that form the protocol state machine (engine/PROTOCOL.md §6). They take
// inputs and the current time and return actions; the simulator relies on that to replay a
// seed exactly.
var pureDirs = []string{"types", "dag", "commit", "order", "core", "wire"}

// Anything reached transitively from these would let the core touch the network, a
// database or a logger.
var forbiddenDeps = []string{"net", "os/exec", "github.com/rs/zerolog", "github.com/syndtr/goleveldb"}

// Direct imports the pure packages may not make. (The standard library's crypto reaches
// "os" internally, so this rule is on the packages' own imports, not on everything below.)
var forbiddenImports = []string{"os", "os/exec", "math/rand", "math/rand/v2", "crypto/rand", "sync", "log", "net"}

// Calls that read the wall clock or start timers.
var forbiddenTimeCalls = map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true,
	"After": true, "AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true}

func TestProtocolCoreIsPure(t *testing.T) {
	var patterns []string
	for _, d := range pureDirs {
		patterns = append(patterns, "./"+d+"/...")
	}
	out, err := exec.Command("go", append([]string{"list", "-deps", "-f",
		"{{.ImportPath}}|{{.Dir}}|{{.Module}}|{{join .Imports \",\"}}"}, patterns...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const module = "github.com/tutti-bft/tutti"
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 4)
		path, dir, mod, imports := parts[0], parts[1], parts[2], parts[3]
		for _, f := range forbiddenDeps {
			if path == f || strings.HasPrefix(path, f+"/") {
				t.Errorf("the protocol core depends on %s", path)
			}
		}
		if !strings.HasPrefix(mod, module) {
			continue
		}
		checked++
		for _, imp := range strings.Split(imports, ",") {
			for _, f := range forbiddenImports {
				if imp == f {
					t.Errorf("%s imports %s", path, imp)
				}
			}
		}
		checkSource(t, path, dir)
	}
	if checked < len(pureDirs) {
		t.Fatalf("checked %d packages of the module, want at least %d", checked, len(pureDirs))
	}
}

// checkSource rejects goroutines and wall-clock reads in a package's non-test files.
func checkSource(t *testing.T, path, dir string) {
	fset := token.NewFileSet()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: goroutine in the protocol core (%s)", path, fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "time" && forbiddenTimeCalls[n.Sel.Name] {
					t.Errorf("%s: time.%s in the protocol core (%s)", path, n.Sel.Name, fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
}
