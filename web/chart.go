package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Charts are inline SVG written here: no chart library, nothing to load,
// and they print and scale like text. Colours come from classes in app.css
// (the CSP forbids inline styles); every bar and point has a <title> so a
// hover tells the figure.

// Series is one named row of values of a chart.
type Series struct {
	Name string
	// Class colours it (app.css: ok, fail, dead, recv, lat).
	Class  string
	Values []float64
}

// Axis says what a chart's values are, which decides its ticks and labels.
type Axis int

const (
	// AxisCount: events, requests (labels 950, 1.2k, 3.4M).
	AxisCount Axis = iota
	// AxisMillis: durations in milliseconds (labels 250ms, 1.5s, 2min, 1h;
	// ticks on round durations).
	AxisMillis
	// AxisPercent: 0 to 100 (labels 5%).
	AxisPercent
)

// Chart is a bar or line chart over labelled buckets (hours...).
type Chart struct {
	Title  string
	Labels []string
	Series []Series
	// Axis is what the values are: it picks the ticks and how figures
	// read on the axis and in the hover titles.
	Axis Axis
	// Line draws the series as lines (NaN values are gaps) instead of
	// stacked bars.
	Line bool
}

const (
	chartW, chartH       = 640, 180
	padL, padR, padT, pB = 52, 8, 20, 22
)

// millisSteps are the tick steps of a duration axis: round durations, so
// the ticks read 0, 15s, 30s, 45s rather than 0, 12.5s, 25s.
var millisSteps = []float64{
	1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500,
	1e3, 2e3, 5e3, 10e3, 15e3, 30e3,
	60e3, 2 * 60e3, 5 * 60e3, 10 * 60e3, 15 * 60e3, 30 * 60e3,
	3600e3, 2 * 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 24 * 3600e3,
}

// maxTicks is how many intervals an axis has at most above zero.
const maxTicks = 4

// ticks returns the axis's top and its ticks (0 first, top last) for
// values up to maxV: the smallest round step that covers maxV in at most
// maxTicks intervals. Counts step by whole numbers.
func ticks(maxV float64, axis Axis) (top float64, out []float64) {
	if maxV <= 0 || math.IsNaN(maxV) || math.IsInf(maxV, 0) {
		maxV = 1
	}
	step := 0.0
	if axis == AxisMillis {
		for _, s := range millisSteps {
			if maxV/s <= maxTicks {
				step = s
				break
			}
		}
		if step == 0 { // beyond days: whole days, by the count rule
			step = 24 * 3600e3 * niceStep(maxV/(24*3600e3)/maxTicks)
		}
	} else {
		step = niceStep(maxV / maxTicks)
		if step < 1 {
			step = 1
		}
	}
	n := math.Ceil(maxV/step - 1e-9)
	for i := 0.0; i <= n; i++ {
		out = append(out, i*step)
	}
	return n * step, out
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// label formats a value for the axis or a hover title.
func label(v float64, axis Axis) string {
	switch axis {
	case AxisMillis:
		return fmtMillis(v)
	case AxisPercent:
		return trimZeros(fmt.Sprintf("%.1f", v)) + "%"
	}
	return fmtCount(v)
}

// fmtCount writes counts as 950, 1.2k, 12k, 3.4M.
func fmtCount(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trimZeros(fmt.Sprintf("%.1f", v/1e9)) + "G"
	case a >= 1e6:
		return trimZeros(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case a >= 1e3:
		return trimZeros(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return trimZeros(fmt.Sprintf("%.2f", v))
}

// fmtMillis writes a duration in milliseconds in the largest unit that
// keeps it readable: 0, 0.5ms, 250ms, 1.5s, 2min, 1.5h, 2d.
func fmtMillis(ms float64) string {
	a := math.Abs(ms)
	switch {
	case a == 0:
		return "0"
	case a < 1000:
		return trimZeros(fmt.Sprintf("%.1f", ms)) + "ms"
	case a < 60e3:
		return trimZeros(fmt.Sprintf("%.1f", ms/1e3)) + "s"
	case a < 3600e3:
		return trimZeros(fmt.Sprintf("%.1f", ms/60e3)) + "min"
	case a < 24*3600e3:
		return trimZeros(fmt.Sprintf("%.1f", ms/3600e3)) + "h"
	}
	return trimZeros(fmt.Sprintf("%.1f", ms/(24*3600e3))) + "d"
}

// trimZeros drops a decimal part of zeros: "2.0" → "2", "2.50" → "2.5".
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// SVG draws the chart.
func (c Chart) SVG() template.HTML {
	n := len(c.Labels)
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH, esc(c.Title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	if n == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	// The scale: the largest stack (bars) or value (lines).
	maxV := 0.0
	for i := 0; i < n; i++ {
		sum := 0.0
		for _, s := range c.Series {
			if i < len(s.Values) && !math.IsNaN(s.Values[i]) {
				if c.Line {
					maxV = math.Max(maxV, s.Values[i])
				} else {
					sum += s.Values[i]
				}
			}
		}
		maxV = math.Max(maxV, sum)
	}
	top, marks := ticks(maxV, c.Axis)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-pB)
	y := func(v float64) float64 { return float64(padT) + plotH - v/top*plotH }
	// Grid and axis figures.
	for _, v := range marks {
		yy := y(v)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, padL, yy, chartW-padR, yy)
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-4, yy+4, esc(label(v, c.Axis)))
	}
	step := plotW / float64(n)
	// Bucket labels: about six along the axis.
	every := (n + 5) / 6
	for i := 0; i < n; i += every {
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>`, float64(padL)+step*(float64(i)+0.5), chartH-6, esc(c.Labels[i]))
	}
	if c.Line {
		for _, s := range c.Series {
			var pts []string
			flush := func() {
				if len(pts) > 1 {
					fmt.Fprintf(&b, `<polyline class="line %s" points="%s"/>`, esc(s.Class), strings.Join(pts, " "))
				}
				pts = pts[:0]
			}
			for i := 0; i < n && i < len(s.Values); i++ {
				v := s.Values[i]
				if math.IsNaN(v) {
					flush()
					continue
				}
				x := float64(padL) + step*(float64(i)+0.5)
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y(v)))
				fmt.Fprintf(&b, `<circle class="dot %s" cx="%.1f" cy="%.1f" r="2.5"><title>%s %s: %s</title></circle>`,
					esc(s.Class), x, y(v), esc(c.Labels[i]), esc(s.Name), esc(label(v, c.Axis)))
			}
			flush()
		}
	} else {
		bw := math.Max(step*0.8, 1)
		for i := 0; i < n; i++ {
			base := 0.0
			x := float64(padL) + step*float64(i) + (step-bw)/2
			for _, s := range c.Series {
				if i >= len(s.Values) || s.Values[i] <= 0 || math.IsNaN(s.Values[i]) {
					continue
				}
				v := s.Values[i]
				fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %s</title></rect>`,
					esc(s.Class), x, y(base+v), bw, y(base)-y(base+v), esc(c.Labels[i]), esc(s.Name), esc(label(v, c.Axis)))
				base += v
			}
		}
	}
	// Legend.
	lx := padL
	for _, s := range c.Series {
		fmt.Fprintf(&b, `<rect class="bar %s" x="%d" y="%d" width="8" height="8"/><text class="legend" x="%d" y="%d">%s</text>`,
			esc(s.Class), lx, 2, lx+11, 10, esc(s.Name))
		lx += 16 + 7*len(s.Name)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Sparkline draws values as a small line with the last point marked: the
// trend of an issue or a destination at a glance.
func Sparkline(values []int) template.HTML {
	const w, h = 120, 24
	if len(values) == 0 {
		return ""
	}
	maxV := 0
	total := 0
	for _, v := range values {
		maxV = max(maxV, v)
		total += v
	}
	top := float64(max(maxV, 1))
	step := float64(w-4) / float64(max(len(values)-1, 1))
	pts := make([]string, len(values))
	var x, yy float64
	for i, v := range values {
		x, yy = 2+step*float64(i), float64(h-2)-float64(v)/top*float64(h-4)
		pts[i] = fmt.Sprintf("%.1f,%.1f", x, yy)
	}
	return template.HTML(fmt.Sprintf(`<svg class="spark" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%d in %d buckets, peak %d">`+
		`<title>%d in the last %d hours, peak %d per hour</title><polyline points="%s"/><circle cx="%.1f" cy="%.1f" r="2"/></svg>`,
		w, h, w, h, total, len(values), maxV, total, len(values), maxV, strings.Join(pts, " "), x, yy))
}
