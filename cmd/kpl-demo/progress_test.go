package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// sampleInfo is a progress of the default demo at the default rate limit,
// halfway through.
var sampleInfo = progressInfo{
	done: 87200, total: 200000, elapsed: 6500 * time.Millisecond,
	rate: 25900, byteRate: 6.38e6, rateOK: true, avgRate: 29000,
	inFlight: 1, outstanding: 52100, heldBack: 212,
}

// tier1 are the fields the line must show at 80 columns.
var tier1 = []string{"%", "ETA ", "now ", "in flight ", "held back ", "retries ", "failures "}

func TestFormatProgressWidths(t *testing.T) {
	big := progressInfo{ // large figures everywhere
		done: 1234567, total: 99999999, elapsed: 1234 * time.Second,
		rate: 123456, byteRate: 123.4e6, rateOK: true, avgRate: 99999,
		inFlight: 256, outstanding: 9999999, heldBack: 123456,
		retries: 1234567, failures: 7654321, throttled: 1234567,
	}
	unknown := progressInfo{total: 200000, elapsed: 300 * time.Millisecond, outstanding: 200000}
	done := sampleInfo
	done.done, done.outstanding, done.heldBack = done.total, 0, 0

	for _, c := range []struct {
		name  string
		p     progressInfo
		width int
		want  []string // fields on the line
		not   []string // fields not on it
	}{
		{"80", sampleInfo, 80, tier1, []string{"MB/s", "outstanding", "avg", "throttled"}},
		{"79 (a terminal of 80)", sampleInfo, 79, tier1, nil},
		{"100", sampleInfo, 100, append([]string{"rec/s", "MB/s", "6.5s"}, tier1...), nil},
		{"132", sampleInfo, 132, append([]string{"rec/s", "MB/s", "outstanding 52.1k", "throttled 0"}, tier1...), nil},
		{"160", sampleInfo, 160, append([]string{"rec/s", "MB/s", "avg 29.0k rec/s", "outstanding", "throttled", "6.5s"}, tier1...), nil},
		{"40", sampleInfo, 40, []string{"43.6%", "ETA 0:05", "now 25.9k/s", "failures 0"}, []string{"in flight"}},
		{"20", sampleInfo, 20, []string{"43.6%", "failures 0"}, nil},
		{"4", sampleInfo, 4, []string{"43.6"}, nil},
		{"1", sampleInfo, 1, []string{"4"}, nil},
		{"0", sampleInfo, 0, nil, []string{"%"}},
		{"large figures at 80", big, 80, []string{"1.2%", "ETA", "now 123k", "failures 7.7M"}, nil},
		{"large figures at 132", big, 132, tier1, nil},
		{"unknown rate at 80", unknown, 80, []string{"0.0%", "ETA --:--", "now --", "in flight 0"}, nil},
		{"unknown rate at 160", unknown, 160, []string{"-- MB/s", "avg --", "0.3s"}, nil},
		{"done at 80", done, 80, []string{"100.0%", "ETA 0:00", "held back 0"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			line := formatProgress(c.p, c.width)
			t.Logf("%3d: %q", c.width, line)
			if n := utf8.RuneCountInString(line); n > max(c.width, 0) {
				t.Errorf("%d columns, more than %d", n, c.width)
			}
			for _, f := range c.want {
				if !strings.Contains(line, f) {
					t.Errorf("no %q on the line", f)
				}
			}
			for _, f := range c.not {
				if strings.Contains(line, f) {
					t.Errorf("%q on the line", f)
				}
			}
			if strings.ContainsAny(line, "\r\n\x1b") {
				t.Errorf("control characters on the line")
			}
		})
	}
	// Every width from 0 to 200, for each sample.
	for _, p := range []progressInfo{sampleInfo, big, unknown, done} {
		for w := 0; w <= 200; w++ {
			if line := formatProgress(p, w); utf8.RuneCountInString(line) > w {
				t.Errorf("width %d: %d columns: %q", w, utf8.RuneCountInString(line), line)
			}
		}
	}
}

func TestFormatETA(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		ok   bool
		want string
	}{
		{0, false, "--:--"},
		{time.Hour, false, "--:--"},
		{0, true, "0:00"},
		{-time.Second, true, "0:00"},
		{1, true, "0:01"}, // rounded up
		{59200 * time.Millisecond, true, "1:00"},
		{61 * time.Second, true, "1:01"},
		{59*time.Minute + 59*time.Second, true, "59:59"},
		{time.Hour, true, "1:00:00"},
		{3*time.Hour + 25*time.Minute + 7*time.Second, true, "3:25:07"},
		{99*time.Hour + 59*time.Minute + 59*time.Second, true, "99:59:59"},
		{100 * time.Hour, true, ">99h"},
		{10000 * time.Hour, true, ">99h"},
	} {
		if got := formatETA(c.d, c.ok); got != c.want {
			t.Errorf("formatETA(%v, %v) = %q, want %q", c.d, c.ok, got, c.want)
		}
	}

	// progressInfo.eta: from the current rate, else from the average once
	// there is a second of it, else unknown.
	for _, c := range []struct {
		name string
		p    progressInfo
		want string
	}{
		{"no rate yet", progressInfo{total: 100, elapsed: 500 * time.Millisecond, avgRate: 50}, "--:--"},
		{"average", progressInfo{total: 100, done: 40, elapsed: 2 * time.Second, avgRate: 20}, "0:03"},
		{"current", progressInfo{total: 1000, done: 400, elapsed: 2 * time.Second, avgRate: 200, rate: 100, rateOK: true}, "0:06"},
		{"stalled", progressInfo{total: 1000, done: 400, elapsed: 9 * time.Second, rateOK: true}, "--:--"},
		{"done", progressInfo{total: 1000, done: 1000}, "0:00"},
		{"long", progressInfo{total: 1e6, elapsed: 2 * time.Second, rate: 20, rateOK: true}, "13:53:20"},
		{"very long", progressInfo{total: 1e12, elapsed: 2 * time.Second, rate: 1, rateOK: true}, ">99h"},
	} {
		if got := formatETA(c.p.eta()); got != c.want {
			t.Errorf("%s: ETA %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCompact(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {212, "212"}, {999.4, "999"}, {999.5, "1.0k"}, {9054, "9.1k"}, {25900, "25.9k"},
		{99949, "99.9k"}, {99950, "100k"}, {123456, "123k"}, {999499, "999k"}, {999500, "1.0M"},
		{9054986, "9.1M"}, {123456789, "123M"},
	} {
		if got := compact(c.v); got != c.want {
			t.Errorf("compact(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

// TestRateWindow checks that the current rate is measured over a window of
// at least rateMinSpan: the last interval of a run, cut short by its end,
// cannot make it absurd (the old line showed 9054986 records/s after one).
func TestRateWindow(t *testing.T) {
	w := rateWindow{span: rateSpan, minSpan: rateMinSpan}
	w.add(rateSample{})
	if _, _, ok := w.rates(); ok {
		t.Error("a rate from one sample")
	}
	// 9,000 records acknowledged 1 ms after the start: no rate yet.
	w.add(rateSample{at: time.Millisecond, records: 9000, bytes: 9000 * 230})
	if r, _, ok := w.rates(); ok {
		t.Errorf("a rate of %.0f over 1 ms", r)
	}
	w.add(rateSample{at: 500 * time.Millisecond, records: 12500})
	if r, _, ok := w.rates(); ok {
		t.Errorf("a rate of %.0f over 500 ms", r)
	}
	// 25,000 records a second, sampled every 100 ms for 7 s.
	w = rateWindow{span: rateSpan, minSpan: rateMinSpan}
	var at time.Duration
	var recs int64
	for ; at <= 7*time.Second; at += 100 * time.Millisecond {
		recs = int64(at.Seconds() * 25000)
		w.add(rateSample{at: at, records: recs, bytes: recs * 246})
		r, b, ok := w.rates()
		if ok != (at >= time.Second) {
			t.Fatalf("at %v: rate known %v", at, ok)
		}
		if ok && (r < 24999 || r > 25001 || b < 24999*246 || b > 25001*246) {
			t.Fatalf("at %v: %.0f records/s, %.0f bytes/s; want 25000, %d", at, r, b, 25000*246)
		}
	}
	if n := len(w.samples); n > int(rateSpan/(100*time.Millisecond))+2 {
		t.Errorf("%d samples kept", n)
	}
	// The last sample, 1 ms after the one before, brings 9,000 records at
	// once (a PutRecords answer): the rate stays near 25,000.
	last := at - 100*time.Millisecond + time.Millisecond
	w.add(rateSample{at: last, records: recs + 9000, bytes: (recs + 9000) * 246})
	r, _, ok := w.rates()
	if !ok || r < 20000 || r > 30000 {
		t.Errorf("after a short last interval: %.0f records/s (known %v); want 20000..30000", r, ok)
	}
	if d := w.samples[len(w.samples)-1].at - w.samples[0].at; d < rateMinSpan || d > rateSpan+100*time.Millisecond {
		t.Errorf("rate over %v", d)
	}

	// Samples further apart than the span: the rate is over the last
	// interval, which is long enough.
	w = rateWindow{span: rateSpan, minSpan: rateMinSpan}
	for i := int64(0); i <= 4; i++ {
		w.add(rateSample{at: time.Duration(i) * 5 * time.Second, records: i * i * 1000})
	}
	if r, _, ok := w.rates(); !ok || r != 1400 || len(w.samples) != 2 {
		t.Errorf("samples 5 s apart: %.0f records/s (known %v, %d samples kept); want 1400", r, ok, len(w.samples))
	}
}

// screen plays what a terminal does with a line's output: characters
// overwrite the line from the cursor on, \r moves the cursor to the start,
// \x1b[K erases from the cursor to the end, \n ends the line.
func screen(out string) []string {
	var lines []string
	var cur []rune
	pos := 0
	for i := 0; i < len(out); {
		switch {
		case strings.HasPrefix(out[i:], eraseToEOL):
			cur = cur[:pos]
			i += len(eraseToEOL)
		case out[i] == '\r':
			pos = 0
			i++
		case out[i] == '\n':
			lines = append(lines, string(cur))
			cur, pos = nil, 0
			i++
		default:
			r, n := utf8.DecodeRuneInString(out[i:])
			if pos < len(cur) {
				cur[pos] = r
			} else {
				cur = append(cur, r)
			}
			pos++
			i += n
		}
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// TestLineWriter draws a long line, then a shorter one: on a terminal the
// second leaves nothing of the first (with \x1b[K, or spaces without ANSI),
// and a file gets plain lines without escape codes.
func TestLineWriter(t *testing.T) {
	long := formatProgress(sampleInfo, 79)
	short := formatProgress(sampleInfo, 40)
	if len(short) >= len(long) {
		t.Fatalf("lines of %d and %d columns", len(long), len(short))
	}

	var out bytes.Buffer
	lw := lineWriter{out: &out, terminal: true, ansi: true}
	lw.draw(long)
	lw.draw(short)
	lw.end()
	if want := "\r" + long + eraseToEOL + "\r" + short + eraseToEOL + "\n"; out.String() != want {
		t.Errorf("terminal output %q, want %q", out.String(), want)
	}
	if got := screen(out.String()); len(got) != 1 || got[0] != short {
		t.Errorf("terminal shows %q, want %q", got, short)
	}

	out.Reset()
	lw = lineWriter{out: &out, terminal: true}
	lw.draw(long)
	lw.draw(short)
	lw.end()
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("escape codes without ANSI: %q", out.String())
	}
	if got := screen(out.String()); len(got) != 1 || strings.TrimRight(got[0], " ") != short || len(got[0]) != len(long) {
		t.Errorf("terminal without ANSI shows %q, want %q padded to %d", got, short, len(long))
	}

	out.Reset()
	lw = lineWriter{out: &out}
	lw.draw(long)
	lw.draw(short)
	lw.end()
	if want := long + "\n" + short + "\n"; out.String() != want {
		t.Errorf("file output %q, want %q", out.String(), want)
	}
}

// TestOutputWidth checks COLUMNS and the fallback: a buffer is no terminal.
func TestOutputWidth(t *testing.T) {
	for _, c := range []struct {
		columns string
		want    int
	}{{"", defaultColumns}, {"132", 132}, {" 100 ", 100}, {"0", defaultColumns}, {"-5", defaultColumns}, {"wide", defaultColumns}} {
		t.Setenv("COLUMNS", c.columns)
		if w, term := outputWidth(&bytes.Buffer{}); w != c.want || term {
			t.Errorf("COLUMNS=%q: width %d, terminal %v; want %d, false", c.columns, w, term, c.want)
		}
	}
}

// TestLayoutKept draws lines whose figures change width from one to the
// next: a fresh layout for each would make fields come and go, the
// progress keeps its layout while the lines fit.
func TestLayoutKept(t *testing.T) {
	infos := make([]progressInfo, 40)
	for i := range infos {
		p := sampleInfo
		p.elapsed = time.Duration(i+1) * 500 * time.Millisecond
		p.done = int64(i) * 5000
		if i%2 == 0 {
			p.heldBack, p.outstanding, p.byteRate = 9, 999, 9.9e6
		} else {
			p.heldBack, p.outstanding, p.byteRate = 1248, 52100, 12.4e6
		}
		infos[i] = p
	}
	label := regexp.MustCompile(`[A-Za-z/]{2,}`)
	sets := func(lines []string) (changes int) {
		for i := 1; i < len(lines); i++ {
			if strings.Join(label.FindAllString(lines[i], -1), " ") != strings.Join(label.FindAllString(lines[i-1], -1), " ") {
				changes++
			}
		}
		return changes
	}
	width := 0
	for w := 80; w <= 200 && width == 0; w++ {
		var lines []string
		for _, p := range infos {
			lines = append(lines, formatProgress(p, w))
		}
		if sets(lines) >= 10 {
			width = w
		}
	}
	if width == 0 {
		t.Fatal("no width at which fresh layouts change the fields")
	}

	var out bytes.Buffer
	pr := &progress{w: lineWriter{out: &out}, width: func() int { return width }}
	for _, p := range infos {
		pr.last = p
		pr.draw(time.Now())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if n := sets(lines); n > 1 {
		t.Errorf("at %d columns the fields changed %d times:\n%s", width, n, out.String())
	}
	for _, l := range lines {
		if utf8.RuneCountInString(l) > width {
			t.Errorf("%d columns, more than %d: %q", utf8.RuneCountInString(l), width, l)
		}
	}
}

// progressLines returns the progress lines of a run's output, as a terminal
// (see screen) or a file would show them one after the other.
func progressLines(out string) []string {
	var lines []string
	for _, l := range strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if l = strings.ReplaceAll(l, eraseToEOL, ""); strings.Contains(l, "ETA ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestProgressFitsColumns runs the demo with COLUMNS=80, drawing the line as
// on a terminal, then as into a file: every progress line fits in 80
// columns (79 on the terminal), the terminal's have \x1b[K and the file's
// no escape codes, and the summary says what set the throughput.
func TestProgressFitsColumns(t *testing.T) {
	// Not parallel: t.Setenv.
	t.Setenv("COLUMNS", "80")
	client, stream := sharedClient(t, 1)

	// One shard at the default rate limit: 3.5 MB take a second or two.
	o := smallRun(stream)
	o.records, o.size, o.rateLimit, o.terminal, o.progress = 15000, 200, 0, true, 50*time.Millisecond
	var out, errs bytes.Buffer
	res, err := demo(context.Background(), client, o, &out, &errs)
	if err != nil {
		t.Fatalf("demo: %v\n%s%s", err, out.String(), errs.String())
	}
	res.print(&out, o)
	t.Logf("output:\n%s", strings.ReplaceAll(out.String(), "\r", "\n"))
	if !res.ok(o) {
		t.Error("the run failed")
	}
	lines := progressLines(out.String())
	if len(lines) < 2 {
		t.Errorf("%d progress lines drawn, want several", len(lines))
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 79 {
			t.Errorf("a line of %d columns on a terminal of 80: %q", n, l)
		}
		for _, f := range tier1 {
			if !strings.Contains(l, f) {
				t.Errorf("no %q on %q", f, l)
			}
		}
	}
	if n := strings.Count(out.String(), eraseToEOL); n != len(lines) {
		t.Errorf("%d erases for %d lines", n, len(lines))
	}
	if !regexp.MustCompile(`\nThroughput was set by: \S.*\n`).MatchString(out.String()) {
		t.Error("the summary does not say what set the throughput")
	}

	// Into a file.
	_, stream = sharedClient(t, 2)
	o = smallRun(stream)
	o.records, o.logEvery = 20000, 100*time.Millisecond
	out.Reset()
	errs.Reset()
	res, err = demo(context.Background(), client, o, &out, &errs)
	if err != nil {
		t.Fatalf("demo: %v\n%s%s", err, out.String(), errs.String())
	}
	res.print(&out, o)
	t.Logf("output:\n%s", out.String())
	if strings.ContainsAny(out.String(), "\r\x1b") {
		t.Errorf("control characters in a file's output")
	}
	lines = progressLines(out.String())
	if len(lines) < 1 || !strings.HasPrefix(lines[len(lines)-1], "100.0%") {
		t.Errorf("progress lines %q; want the last at 100.0%%", lines)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("a line of %d columns with COLUMNS=80: %q", n, l)
		}
	}
}
