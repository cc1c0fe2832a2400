package load

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot sizes: wide enough to read a minute second by second.
const (
	plotWidth  = 24 * vg.Centimeter
	plotHeight = 18 * vg.Centimeter
)

// PlotFormat is the format a file name asks for: "png" or "svg".
func PlotFormat(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png", ".svg":
		return ext[1:], nil
	default:
		return "", fmt.Errorf("load: plot %q: want a .png or .svg file", path)
	}
}

// WritePlot draws the per-second series as two stacked panels sharing the time axis:
// offered and committed tx/s above, p50 and p99 latency below, in format "png" or "svg".
func (r *Report) WritePlot(w io.Writer, format string) error {
	if len(r.Series) == 0 {
		return errors.New("load: nothing to plot: the run has no per-second series")
	}
	offered, committed := make(plotter.XYs, len(r.Series)), make(plotter.XYs, len(r.Series))
	p50, p99 := make(plotter.XYs, 0, len(r.Series)), make(plotter.XYs, 0, len(r.Series))
	for i, s := range r.Series {
		x := float64(s.Second)
		offered[i] = plotter.XY{X: x, Y: float64(s.Offered)}
		committed[i] = plotter.XY{X: x, Y: float64(s.Committed)}
		// A second without commits has no latency: leave a gap, not a fall to zero.
		if s.Committed > 0 {
			p50 = append(p50, plotter.XY{X: x, Y: s.P50ms})
			p99 = append(p99, plotter.XY{X: x, Y: s.P99ms})
		}
	}
	throughput, err := panel(fmt.Sprintf("%s load, %s", r.App, r.modeText()), "tx/s",
		[]series{{"offered", offered, color.RGBA{R: 150, G: 150, B: 150, A: 255}}, {"committed", committed, color.RGBA{B: 200, A: 255}}})
	if err != nil {
		return err
	}
	latency, err := panel("latency from due time to commit", "ms",
		[]series{{"p50", p50, color.RGBA{G: 140, A: 255}}, {"p99", p99, color.RGBA{R: 200, A: 255}}})
	if err != nil {
		return err
	}
	latency.X.Label.Text = "seconds since the start of sending"
	throughput.X.Max = max(throughput.X.Max, latency.X.Max)
	latency.X.Min, latency.X.Max = throughput.X.Min, throughput.X.Max

	var canvas interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch format {
	case "png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.New(plotWidth, plotHeight)}
	case "svg":
		canvas = vgsvg.New(plotWidth, plotHeight)
	default:
		return fmt.Errorf("load: plot format %q: want png or svg", format)
	}
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3,
		PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3, PadY: vg.Millimeter * 6}
	plots := [][]*plot.Plot{{throughput}, {latency}}
	cells := plot.Align(plots, tiles, draw.New(canvas))
	throughput.Draw(cells[0][0])
	latency.Draw(cells[1][0])
	_, err = canvas.WriteTo(w)
	return err
}

type series struct {
	name  string
	xys   plotter.XYs
	color color.Color
}

func panel(title, unit string, lines []series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	for _, s := range lines {
		if len(s.xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(s.xys)
		if err != nil {
			return nil, fmt.Errorf("load: plot %s: %w", s.name, err)
		}
		l.Color = s.color
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	return p, nil
}

func (r *Report) modeText() string {
	if r.Mode == "closed" {
		return fmt.Sprintf("closed loop, %d workers", r.Concurrency)
	}
	return fmt.Sprintf("open loop at %g tx/s", r.TargetRate)
}
