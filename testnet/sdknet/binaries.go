package sdknet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// simdSources are the files of testnet/simd that decide the binary; their hash names the
// cache entry.
var simdSources = []string{"go.sum", "main.go"}

// repoRoot is the directory of the project's go.mod, found upward from the working
// directory (go test runs in the package's directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/tutti-bft/tutti\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("sdknet: the project's go.mod is not above the working directory")
		}
		dir = parent
	}
}

// cacheDir is ${TUTTI_CACHE_DIR:-$HOME/.cache/tutti}.
func cacheDir() (string, error) {
	if d := os.Getenv("TUTTI_CACHE_DIR"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".cache", "tutti"), nil
}

// simdPath is where the simd built from the current sources is cached.
func simdPath(root string) (string, error) {
	h := sha256.New()
	for _, f := range simdSources {
		b, err := os.ReadFile(filepath.Join(root, "testnet", "simd", f))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "simd-"+hex.EncodeToString(h.Sum(nil))[:16], "simd"), nil
}

// buildSimd returns the cached simd for the current sources, building it first if the
// cache has none (minutes on 2 cores). The build goes to a temporary file renamed into
// place, so an interrupted build never leaves a broken binary in the cache.
func buildSimd(ctx context.Context, root string, logf func(string, ...any)) (string, error) {
	path, err := simdPath(root)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "simd.build-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // a no-op once renamed
	logf("building simd into %s (minutes the first time)", path)
	start := time.Now()
	if err := goBuild(ctx, filepath.Join(root, "testnet", "simd"), tmp.Name(), "."); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	logf("built simd in %v", time.Since(start).Round(time.Second))
	return path, nil
}

// buildTutti builds the tutti binary of this checkout into dir.
func buildTutti(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "tutti")
	return out, goBuild(ctx, root, out, "./cmd/tutti")
}

// goBuild runs `go build -o out pkg` in dir, under nice where the host has it.
func goBuild(ctx context.Context, dir, out, pkg string) error {
	args := []string{"go", "build", "-o", out, pkg}
	if nice, err := exec.LookPath("nice"); err == nil {
		args = append([]string{nice}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sdknet: %s in %s: %v\n%s", strings.Join(args, " "), dir, err, b)
	}
	return nil
}
