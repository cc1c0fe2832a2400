package sdknet

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
)

// countInFile is the number of lines of the file at path holding s (0 if there is no
// file).
func countInFile(path, s string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}

// errorLines are the lines of a node's log, since its last start, that are at ERROR level
// and hold s: zerolog JSON lines with "level":"error", or console lines with ERR or
// ERROR as a word.
func errorLines(path, s string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := string(b)
	if i := strings.LastIndex(text, "=== start "); i >= 0 {
		text = text[i:]
	}
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if !strings.Contains(l, s) {
			continue
		}
		var rec struct {
			Level string `json:"level"`
		}
		if json.Unmarshal([]byte(l), &rec) == nil {
			if rec.Level == "error" {
				out = append(out, l)
			}
			continue
		}
		for _, w := range strings.Fields(l) {
			if w == "ERR" || w == "ERROR" {
				out = append(out, l)
				break
			}
		}
	}
	return out, nil
}
