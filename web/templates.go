package web

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"path"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch/deliver"
)

//go:embed templates
var templateFS embed.FS

// parseTemplates parses each page file with the layout: pages["events"] is
// layout.html plus events.html.
func (h *Handler) parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"asset": h.assets.url,
		"ago":   func(t time.Time) string { return ago(h.opts.Now(), t) },
		"ts":    ts,
		"dur":   dur,
		"pct":   pct,
		"spark": Sparkline,
		"join":  strings.Join,
		"add":   func(a, b int) int { return a + b },
		"list":  func(v ...string) []string { return v },
		// wait says why a pending delivery or a destination waits, its
		// times in UTC and relative to now.
		"wait": func(w deliver.Waiting) string {
			return w.Text(func(t time.Time) string { return ts(t) + " UTC (" + ago(h.opts.Now(), t) + ")" })
		},
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		// The layout and the partials (partial_*.html: templates shared by
		// several pages) are parsed into every page.
		if name == "layout" || strings.HasPrefix(name, "partial_") {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partial_*.html", f)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// ts formats a time for tables: UTC, to the second. The zero time is "-".
func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// ago says how long before now t was, roughly ("3m ago").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + roughDur(-d)
	}
	return roughDur(d) + " ago"
}

func roughDur(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// dur formats a latency: 850µs, 12ms, 1.2s, 3m5s.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// pct formats a ratio as a percentage; NaN (nothing measured) is "-".
func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", v*100)
}

// sprintf fills a flash message's one %s.
func sprintf(format, arg string) string {
	if strings.Contains(format, "%s") {
		return fmt.Sprintf(format, arg)
	}
	return format
}
