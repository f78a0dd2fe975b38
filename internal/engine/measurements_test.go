package engine

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEMetricTable checks the README's metric table against
// Measurements: one row per measurement, in order, with its names, kind and
// unit.
func TestREADMEMetricTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `") && strings.Count(line, "|") == 8 {
			rows = append(rows, line)
		}
	}
	if len(rows) != len(Measurements) {
		t.Fatalf("the README's metric table has %d rows, the code %d measurements", len(rows), len(Measurements))
	}
	for i, m := range Measurements {
		cells := strings.Split(rows[i], "|")[1:8]
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		want := []string{"`" + m.Prometheus + "`", "`" + m.OTel + "`", m.Kind, "`" + m.Unit + "`"}
		for j, w := range want {
			if cells[j] != w {
				t.Errorf("row %d (%s): column %d is %q, want %q", i+1, m.Key, j+1, cells[j], w)
			}
		}
	}
}

// TestMeasurementsAreDistinct: every key and name is used once.
func TestMeasurementsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Measurements {
		for _, name := range []string{"key " + m.Key, "prometheus " + m.Prometheus, "otel " + m.OTel} {
			if seen[name] {
				t.Errorf("%s is used twice", name)
			}
			seen[name] = true
		}
		switch m.Kind {
		case Counter, Histogram, Gauge:
		default:
			t.Errorf("%s: kind %q", m.Key, m.Kind)
		}
	}
}
