package load

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg/vgimg"
)

func plottedReport() *Report {
	r := &Report{App: "kvstore", Mode: "open", TargetRate: 500}
	for i := range 30 {
		s := Second{Second: i, Offered: 500, Committed: 480 + int64(i%5)*10, P50ms: 400 + float64(i*3), P99ms: 900 + float64(i*7)}
		if i == 12 {
			s.Committed, s.P50ms, s.P99ms = 0, 0, 0 // a stall: no latency that second
		}
		r.Series = append(r.Series, s)
	}
	return r
}

// TestPlotPNG: the PNG decodes, has the plot's size, and is drawn on (not one colour).
func TestPlotPNG(t *testing.T) {
	var buf bytes.Buffer
	if err := plottedReport().WritePlot(&buf, "png"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	// vgimg rounds the canvas size at its default resolution to whole pixels.
	wantW, wantH := int(plotWidth.Dots(vgimg.DefaultDPI)+0.5), int(plotHeight.Dots(vgimg.DefaultDPI)+0.5)
	b := img.Bounds()
	if b.Dx() != wantW || b.Dy() != wantH {
		t.Fatalf("image is %dx%d, want %dx%d", b.Dx(), b.Dy(), wantW, wantH)
	}
	colours := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 4 {
		t.Fatalf("the image has %d colours: nothing drawn", len(colours))
	}
}

// TestPlotSVG: the SVG is well-formed XML holding both panels' titles and axis labels and
// every legend entry.
func TestPlotSVG(t *testing.T) {
	var buf bytes.Buffer
	if err := plottedReport().WritePlot(&buf, "svg"); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
	}
	for _, want := range []string{"open loop at 500 tx/s", "tx/s", "latency from due time to commit", "ms",
		"seconds since the start of sending", "offered", "committed", "p50", "p99"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
}

func TestPlotRefusals(t *testing.T) {
	if err := (&Report{}).WritePlot(io.Discard, "png"); err == nil || !strings.Contains(err.Error(), "nothing to plot") {
		t.Fatalf("empty series: %v", err)
	}
	if err := plottedReport().WritePlot(io.Discard, "gif"); err == nil {
		t.Fatal("a gif was accepted")
	}
	for path, want := range map[string]string{"a.PNG": "png", "x/b.svg": "svg", "c.pdf": "", "d": ""} {
		got, err := PlotFormat(path)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("PlotFormat(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
}
