package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONFormatIsOneObjectPerLine(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Int64("height", 7).Msg("committed block")
	log.Debug().Msg("hidden at info level")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line, got %q", buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["level"] != "info" || rec["message"] != "committed block" || rec["height"] != float64(7) {
		t.Fatalf("record: %v", rec)
	}
}

func TestPlainFormatIsReadableText(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "debug", "plain")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug().Str("peer", "abc").Msg("peer connected")
	out := buf.String()
	if !strings.Contains(out, "peer connected") || !strings.Contains(out, "peer=abc") || strings.Contains(out, "{") {
		t.Fatalf("plain output: %q", out)
	}
}

func TestBadSettingsAreErrors(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "loud", "json"); err == nil {
		t.Fatal("bad level accepted")
	}
	if _, err := New(&bytes.Buffer{}, "info", "xml"); err == nil {
		t.Fatal("bad format accepted")
	}
}

func TestCometAdapterKeepsKeyValues(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	Comet(log).With("module", "abci-client").Error("connection terminated", "conn", "consensus", "height", 5)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["module"] != "abci-client" || rec["conn"] != "consensus" || rec["height"] != float64(5) || rec["level"] != "error" {
		t.Fatalf("record: %v", rec)
	}
}
