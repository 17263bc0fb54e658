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

// Chart is a bar or line chart over labelled buckets (hours...).
type Chart struct {
	Title  string
	Labels []string
	Series []Series
	// Unit follows figures in titles and on the axis ("ms", "%").
	Unit string
	// Line draws the series as lines (NaN values are gaps) instead of
	// stacked bars.
	Line bool
}

const (
	chartW, chartH       = 640, 180
	padL, padR, padT, pB = 44, 8, 20, 22
)

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, so the
// axis reads well.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	if math.Abs(v) >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
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
	top := niceMax(maxV)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-pB)
	y := func(v float64) float64 { return float64(padT) + plotH - v/top*plotH }
	// Grid and axis figures.
	for _, f := range []float64{0, 0.5, 1} {
		yy := y(top * f)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, padL, yy, chartW-padR, yy)
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%s%s</text>`, padL-4, yy+4, fmtNum(top*f), esc(c.Unit))
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
				fmt.Fprintf(&b, `<circle class="dot %s" cx="%.1f" cy="%.1f" r="2.5"><title>%s %s: %s%s</title></circle>`,
					esc(s.Class), x, y(v), esc(c.Labels[i]), esc(s.Name), fmtNum(v), esc(c.Unit))
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
				fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %s%s</title></rect>`,
					esc(s.Class), x, y(base+v), bw, y(base)-y(base+v), esc(c.Labels[i]), esc(s.Name), fmtNum(v), esc(c.Unit))
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
