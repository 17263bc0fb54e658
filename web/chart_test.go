package web

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		max  float64
		axis Axis
		top  float64
		want []string
	}{
		// The overview's old p95 axis read "250000ms": now minutes.
		{250000, AxisMillis, 360000, []string{"0", "2min", "4min", "6min"}},
		{40, AxisMillis, 40, []string{"0", "10ms", "20ms", "30ms", "40ms"}},
		{1800, AxisMillis, 2000, []string{"0", "500ms", "1s", "1.5s", "2s"}},
		{45000, AxisMillis, 45000, []string{"0", "15s", "30s", "45s"}},
		{7 * 3600e3, AxisMillis, 8 * 3600e3, []string{"0", "2h", "4h", "6h", "8h"}},
		{0, AxisCount, 1, []string{"0", "1"}},
		{3, AxisCount, 3, []string{"0", "1", "2", "3"}},
		{7, AxisCount, 8, []string{"0", "2", "4", "6", "8"}},
		{12345, AxisCount, 15000, []string{"0", "5k", "10k", "15k"}},
		{3.2e6, AxisCount, 4e6, []string{"0", "1M", "2M", "3M", "4M"}},
		{37, AxisPercent, 40, []string{"0%", "10%", "20%", "30%", "40%"}},
		{math.NaN(), AxisCount, 1, []string{"0", "1"}},
	} {
		top, marks := ticks(tc.max, tc.axis)
		var got []string
		for _, m := range marks {
			got = append(got, label(m, tc.axis))
		}
		if top != tc.top || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ticks(%v, %v) = %v %v, want %v %v", tc.max, tc.axis, top, got, tc.top, tc.want)
		}
		if top < tc.max && !math.IsNaN(tc.max) {
			t.Errorf("ticks(%v): top %v is under the largest value", tc.max, top)
		}
		if len(marks) > maxTicks+1 {
			t.Errorf("ticks(%v): %d marks, want at most %d", tc.max, len(marks), maxTicks+1)
		}
	}
}

func TestLabels(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		axis Axis
		want string
	}{
		{0.5, AxisMillis, "0.5ms"}, {250, AxisMillis, "250ms"}, {1500, AxisMillis, "1.5s"}, {90000, AxisMillis, "1.5min"},
		{5400e3, AxisMillis, "1.5h"}, {2 * 24 * 3600e3, AxisMillis, "2d"},
		{950, AxisCount, "950"}, {1200, AxisCount, "1.2k"}, {12000, AxisCount, "12k"}, {3.4e6, AxisCount, "3.4M"}, {0.25, AxisCount, "0.25"},
		{5, AxisPercent, "5%"}, {12.5, AxisPercent, "12.5%"},
	} {
		if got := label(tc.v, tc.axis); got != tc.want {
			t.Errorf("label(%v, %v) = %q, want %q", tc.v, tc.axis, got, tc.want)
		}
	}
}

// The SVG puts every tick's label on the axis and the unit in each hover
// title, and never a label like "250000ms".
func TestChartSVGLabels(t *testing.T) {
	c := Chart{Title: "p95", Labels: []string{"10h", "11h"}, Axis: AxisMillis, Line: true,
		Series: []Series{{Name: "p95", Class: "lat", Values: []float64{250000, math.NaN()}}}}
	svg := string(c.SVG())
	for _, want := range []string{">6min</text>", ">0</text>", "<title>10h p95: 4.2min</title>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "000ms") {
		t.Errorf("SVG has an unreadable millisecond label:\n%s", svg)
	}
}
