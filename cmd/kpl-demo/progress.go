package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kplgo/producer/sdkv2"
)

// The progress line.
//
// On a terminal it is redrawn in place every -progress interval (500 ms):
// a carriage return, the line, and an erase to the end of the line, so that
// a shorter line leaves nothing of a longer one behind. It is one column
// narrower than the terminal: a line that fills the last column leaves the
// cursor waiting to wrap, and the erase would then take the last character
// (or the terminal wraps at once). When the output is not a terminal it
// prints a plain line, no escape codes, every few seconds (logEvery).
//
// The width is COLUMNS when that is set, else the terminal's own (ioctl
// TIOCGWINSZ on unix), else defaultColumns. At 80 columns the line shows
// the share done, the ETA, the current rate, the PutRecords calls in
// flight, the Kinesis records the shards' rate limit holds back now, the
// retries and the failures, for example
//
//	43.6%  ETA 0:04  now 25.9k/s  in flight 1  held back 212  retries 0  failures 0
//
// and a wider one adds the data rate, the records outstanding, the throttled
// records, the average rate and the time elapsed.

const (
	// defaultColumns is the width of the progress line when neither
	// COLUMNS nor the terminal says.
	defaultColumns = 80

	// logEvery is how often a progress line is printed when the output is
	// not a terminal.
	logEvery = 3 * time.Second

	// maxSampleEvery is the longest interval between two samples of the
	// producer's figures: the current rate and the verdict on what set the
	// throughput are drawn from them.
	maxSampleEvery = 100 * time.Millisecond

	// rateSpan is how far back the current rate looks, and rateMinSpan the
	// shortest time it is ever measured over: a rate over a few
	// milliseconds (the last interval of a run, cut short by its end) is
	// noise, and a single PutRecords answer of a few thousand records would
	// make it absurd.
	rateSpan    = 2 * time.Second
	rateMinSpan = time.Second

	// eraseToEOL is the ANSI escape sequence that erases from the cursor to
	// the end of the line.
	eraseToEOL = "\x1b[K"
)

// progressInfo is what a progress line shows: a pure value, so that
// formatProgress can be tested without a producer.
type progressInfo struct {
	done     int64         // user records acknowledged or failed
	total    int64         // user records to put
	elapsed  time.Duration // since the first Put
	rate     float64       // user records acknowledged a second, over the last rateSpan
	byteRate float64       // Kinesis data bytes acknowledged a second, over the same span
	rateOK   bool          // rate and byteRate were measured (over rateMinSpan at least)
	avgRate  float64       // user records acknowledged a second since the first Put

	inFlight    int   // PutRecords calls under way
	outstanding int64 // user records accepted by Put, not yet acknowledged or failed
	heldBack    int64 // Kinesis records waiting in queues of shards whose rate limit holds them back now
	retries     int64
	failures    int64 // user records failed
	throttled   int64 // Kinesis records answered with ProvisionedThroughputExceeded
}

// eta returns the time the remaining records need at the current rate (at
// the average rate while there is no current one), and whether it is
// known.
func (p progressInfo) eta() (time.Duration, bool) {
	left := p.total - p.done
	if left <= 0 {
		return 0, true
	}
	rate := p.rate
	if !p.rateOK {
		rate = 0
		if p.elapsed >= rateMinSpan {
			rate = p.avgRate
		}
	}
	if rate <= 0 {
		return 0, false
	}
	secs := float64(left) / rate
	if secs > maxETA.Seconds() {
		return maxETA, true
	}
	return time.Duration(secs * float64(time.Second)), true
}

// maxETA is the longest ETA formatETA spells out.
const maxETA = 100 * time.Hour

// formatETA formats a remaining time as m:ss, or h:mm:ss from an hour on,
// rounded up to the second; ">99h" from maxETA on and "--:--" when unknown.
func formatETA(d time.Duration, ok bool) string {
	switch {
	case !ok:
		return "--:--"
	case d >= maxETA:
		return ">99h"
	case d < 0:
		d = 0
	}
	s := int64((d + time.Second - 1) / time.Second)
	if h := s / 3600; h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// formatElapsed formats the time since the first Put: 6.5s, or 1m02s from a
// minute on.
func formatElapsed(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	s := int64(d / time.Second)
	if h := s / 3600; h > 0 {
		return fmt.Sprintf("%dh%02dm%02ds", h, s/60%60, s%60)
	}
	return fmt.Sprintf("%dm%02ds", s/60, s%60)
}

// compact formats a count or rate in at most 4 digits and a suffix: 212,
// 9.9k, 52.1k, 123k, 1.2M, 123M.
func compact(v float64) string {
	a := math.Abs(v)
	switch {
	case a < 999.5:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a < 99950:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	case a < 999500:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	case a < 99.95e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	default:
		return strconv.FormatFloat(v/1e6, 'f', 0, 64) + "M"
	}
}

// megabytes formats bytes a second as MB/s with 3 significant digits.
func megabytes(bytesPerSecond float64) string {
	mb := bytesPerSecond / 1e6
	switch {
	case mb < 9.995:
		return fmt.Sprintf("%.2f MB/s", mb)
	case mb < 99.95:
		return fmt.Sprintf("%.1f MB/s", mb)
	default:
		return fmt.Sprintf("%.0f MB/s", mb)
	}
}

// lineField is one field of the progress line.
type lineField struct {
	pos   int      // place on the line, left to right
	tier  int      // 1: wanted at 80 columns; 2: added when there is room
	forms []string // the field's texts, longest first
}

// progressFields returns the fields of a progress line by priority: when
// the line is too narrow for all of them, the last of a tier go first.
func progressFields(p progressInfo) []lineField {
	pct := 0.0
	if p.total > 0 {
		pct = min(100, max(0, 100*float64(p.done)/float64(p.total)))
	}
	now, mbs := "--", "-- MB/s"
	if p.rateOK {
		now, mbs = compact(p.rate), megabytes(p.byteRate)
	}
	avg := "--"
	if p.elapsed >= rateMinSpan {
		avg = compact(p.avgRate)
	}
	count := func(n int64) string { return compact(float64(n)) }
	return []lineField{
		// Tier 1, the 80-column line.
		{pos: 1, tier: 1, forms: []string{fmt.Sprintf("%.1f%%", pct)}},
		{pos: 11, tier: 1, forms: []string{"failures " + count(p.failures)}},
		{pos: 2, tier: 1, forms: []string{"ETA " + formatETA(p.eta())}},
		{pos: 3, tier: 1, forms: []string{"now " + now + " rec/s", "now " + now + "/s"}},
		{pos: 8, tier: 1, forms: []string{"held back " + count(p.heldBack)}},
		{pos: 6, tier: 1, forms: []string{"in flight " + strconv.Itoa(p.inFlight)}},
		{pos: 9, tier: 1, forms: []string{"retries " + count(p.retries)}},
		// Tier 2, for a wider terminal.
		{pos: 4, tier: 2, forms: []string{mbs}},
		{pos: 7, tier: 2, forms: []string{"outstanding " + count(p.outstanding)}},
		{pos: 10, tier: 2, forms: []string{"throttled " + count(p.throttled)}},
		{pos: 5, tier: 2, forms: []string{"avg " + avg + " rec/s", "avg " + avg + "/s"}},
		{pos: 0, tier: 2, forms: []string{formatElapsed(p.elapsed)}},
	}
}

// formatProgress returns the progress line for p in at most width columns
// (runes: the line is plain ASCII), laid out by planLine.
func formatProgress(p progressInfo, width int) string {
	fields := progressFields(p)
	return planLine(fields, width).render(fields)
}

// lineLayout is the choice of fields, and of their forms, for a line.
type lineLayout struct {
	width int
	sep   string
	form  []int // for each field, in progressFields' order: the index of its form, -1 when left out
}

// planLine lays a line out in width columns. Fields are separated by two
// spaces, or by one when that lets more of the 80-column fields in. The
// fields are taken tier by tier, a tier only when every field of the one
// before is in: first each field of the tier, by priority, in its shortest
// form if it fits; then each of those, by priority, in its longest form
// that fits.
func planLine(fields []lineField, width int) lineLayout {
	l := planWith(fields, width, "  ")
	if n := l.shown(fields, 1); n < countTier(fields, 1) {
		if alt := planWith(fields, width, " "); alt.shown(fields, 1) > n {
			l = alt
		}
	}
	return l
}

func planWith(fields []lineField, width int, sep string) lineLayout {
	l := lineLayout{width: width, sep: sep, form: make([]int, len(fields))}
	for i := range l.form {
		l.form[i] = -1
	}
	fits := func() bool { return l.length(fields) <= width }
	for tier := 1; tier <= 2; tier++ {
		if l.shown(fields, tier-1) < countTier(fields, tier-1) {
			break
		}
		for i, f := range fields {
			if f.tier == tier {
				l.form[i] = len(f.forms) - 1
				if !fits() {
					l.form[i] = -1
				}
			}
		}
		for i, f := range fields {
			if f.tier != tier || l.form[i] < 0 {
				continue
			}
			for j, cur := 0, l.form[i]; j < cur; j++ {
				l.form[i] = j
				if fits() {
					break
				}
				l.form[i] = cur
			}
		}
	}
	return l
}

// length returns the columns of the line the layout makes of fields.
func (l lineLayout) length(fields []lineField) int {
	n, k := 0, 0
	for i, f := range fields {
		if l.form[i] >= 0 {
			n += utf8.RuneCountInString(f.forms[l.form[i]])
			k++
		}
	}
	if k > 1 {
		n += (k - 1) * utf8.RuneCountInString(l.sep)
	}
	return n
}

// shown returns the number of fields of a tier the layout shows.
func (l lineLayout) shown(fields []lineField, tier int) int {
	n := 0
	for i, f := range fields {
		if f.tier == tier && l.form[i] >= 0 {
			n++
		}
	}
	return n
}

func countTier(fields []lineField, tier int) int {
	n := 0
	for _, f := range fields {
		if f.tier == tier {
			n++
		}
	}
	return n
}

// fits reports whether the layout's line of fields (other values, maybe, than
// those it was planned for) fits in its width.
func (l lineLayout) fits(fields []lineField) bool {
	return len(l.form) == len(fields) && l.length(fields) <= l.width
}

// render returns the line of fields in display order; when the layout has
// no field (the width is narrower than the first), as much of the first
// field as fits.
func (l lineLayout) render(fields []lineField) string {
	if l.width < 1 {
		return ""
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		if l.form[i] >= 0 {
			parts[f.pos] = f.forms[l.form[i]]
		}
	}
	var b strings.Builder
	for _, s := range parts {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(l.sep)
		}
		b.WriteString(s)
	}
	if b.Len() == 0 && len(fields) > 0 {
		first := []rune(fields[0].forms[len(fields[0].forms)-1])
		return string(first[:min(len(first), l.width)])
	}
	return b.String()
}

// rateSample is a count of records and bytes acknowledged at a time since
// the first Put.
type rateSample struct {
	at      time.Duration
	records int64
	bytes   int64
}

// rateWindow measures the current rates over the last span of samples, and
// never over less than minSpan.
type rateWindow struct {
	span, minSpan time.Duration
	samples       []rateSample // by time; the first is the newest at least span older than the last, if any
}

// add records a sample, later than the ones before, and forgets those no
// longer needed.
func (w *rateWindow) add(s rateSample) {
	w.samples = append(w.samples, s)
	i := 0
	for i+1 < len(w.samples) && s.at-w.samples[i+1].at >= w.span {
		i++
	}
	if i > 0 {
		w.samples = w.samples[:copy(w.samples, w.samples[i:])]
	}
}

// rates returns the records and bytes a second between the oldest and the
// newest sample kept, and false when they are less than minSpan apart.
func (w *rateWindow) rates() (records, bytes float64, ok bool) {
	if len(w.samples) < 2 {
		return 0, 0, false
	}
	a, b := w.samples[0], w.samples[len(w.samples)-1]
	d := b.at - a.at
	if d < w.minSpan || d <= 0 {
		return 0, 0, false
	}
	secs := d.Seconds()
	return float64(b.records-a.records) / secs, float64(b.bytes-a.bytes) / secs, true
}

// lineWriter writes progress lines: on a terminal over one another, else
// one per line.
type lineWriter struct {
	out      io.Writer
	terminal bool
	ansi     bool // the terminal understands eraseToEOL; else the line is padded with spaces
	last     int  // columns of the line drawn last on a terminal
	drawn    bool
}

// draw writes a line: on a terminal, a carriage return, the line and an
// erase to the end of the line (or spaces over the rest of the line before
// without ANSI), leaving the cursor on the line; else the line and a
// newline.
func (lw *lineWriter) draw(line string) {
	if !lw.terminal {
		fmt.Fprintln(lw.out, line)
		return
	}
	n := utf8.RuneCountInString(line)
	if lw.ansi {
		fmt.Fprint(lw.out, "\r"+line+eraseToEOL)
	} else {
		fmt.Fprint(lw.out, "\r"+line+strings.Repeat(" ", max(0, lw.last-n)))
	}
	lw.last, lw.drawn = n, true
}

// end ends the line drawn last on a terminal.
func (lw *lineWriter) end() {
	if lw.terminal && lw.drawn {
		fmt.Fprintln(lw.out)
		lw.drawn = false
	}
}

// outputWidth returns the columns a line on out may use, and whether out is
// a terminal: COLUMNS when set to a positive number, else the terminal's
// width, else defaultColumns.
func outputWidth(out io.Writer) (cols int, terminal bool) {
	if f, ok := out.(*os.File); ok {
		cols, terminal = terminalColumns(f)
	}
	if c, err := strconv.Atoi(strings.TrimSpace(os.Getenv("COLUMNS"))); err == nil && c > 0 {
		cols = c
	}
	if cols <= 0 {
		cols = defaultColumns
	}
	return cols, terminal
}

// observations are what the progress samples saw, for the verdict on what
// set the throughput (see verdict).
type observations struct {
	samples     int // samples taken while records were outstanding
	heldBack    int // of those, samples in which the rate limit held records back
	fullFlight  int // of those, samples with calls in flight at (nearly) maxConnections
	maxInFlight int
}

// progress samples the producer's figures, prints the progress line and
// keeps the observations.
type progress struct {
	stats    func() sdkv2.Stats
	total    int64
	start    time.Time
	every    time.Duration // redraw interval on a terminal
	logEvery time.Duration // interval of the plain lines
	w        lineWriter
	width    func() int
	stop     chan struct{}
	done     chan struct{}

	window   rateWindow
	layout   lineLayout // of the line drawn last
	lastDraw time.Time
	obs      observations
	last     progressInfo
}

// newProgress starts sampling every min(o.progress, maxSampleEvery) from
// start on, and drawing the line on out.
func newProgress(out io.Writer, stats func() sdkv2.Stats, total int64, start time.Time, o options) *progress {
	_, terminal := outputWidth(out)
	if o.terminal {
		terminal = true
	}
	every := o.progress
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	pr := &progress{
		stats: stats, total: total, start: start, every: every, logEvery: o.logEvery,
		w:      lineWriter{out: out, terminal: terminal, ansi: ansiTerminal || o.terminal},
		width:  func() int { cols, _ := outputWidth(out); return cols },
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		window: rateWindow{span: rateSpan, minSpan: rateMinSpan},
	}
	if pr.logEvery <= 0 {
		pr.logEvery = logEvery
	}
	pr.lastDraw = start
	pr.window.add(rateSample{})
	go pr.loop(min(every, maxSampleEvery))
	return pr
}

func (pr *progress) loop(sampleEvery time.Duration) {
	defer close(pr.done)
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		select {
		case <-pr.stop:
			return
		case <-t.C:
			now := time.Now()
			pr.sample(now)
			interval := pr.logEvery
			if pr.w.terminal {
				interval = pr.every
			}
			if now.Sub(pr.lastDraw) >= interval-sampleEvery/2 {
				pr.draw(now)
			}
		}
	}
}

// sample reads the producer's figures and keeps what the line and the
// verdict need.
func (pr *progress) sample(now time.Time) {
	st := pr.stats()
	elapsed := now.Sub(pr.start)
	pr.window.add(rateSample{at: elapsed, records: st.UserRecordsPut, bytes: st.BytesPut})
	rate, byteRate, ok := pr.window.rates()
	avg := 0.0
	if elapsed > 0 {
		avg = float64(st.UserRecordsPut) / elapsed.Seconds()
	}
	pr.last = progressInfo{
		done: st.UserRecordsPut + st.UserRecordsFailed, total: pr.total, elapsed: elapsed,
		rate: rate, byteRate: byteRate, rateOK: ok, avgRate: avg,
		inFlight: st.InFlight, outstanding: st.Outstanding, heldBack: st.HeldBack,
		retries: st.Retries, failures: st.UserRecordsFailed, throttled: st.Throttled,
	}
	if st.Outstanding > 0 || st.QueuedRecords > 0 || st.InFlight > 0 {
		pr.obs.samples++
		if st.HeldBack > 0 {
			pr.obs.heldBack++
		}
		if st.InFlight >= fullFlight(maxConnections) {
			pr.obs.fullFlight++
		}
	}
	pr.obs.maxInFlight = max(pr.obs.maxInFlight, st.InFlight)
}

// fullFlight is the number of calls in flight that counts as (nearly) all
// of max connections.
func fullFlight(maxConns int) int { return max(1, maxConns*9/10) }

// draw prints the line for the last sample. It keeps the layout of the
// line before while that fits (and the width is the same), so that fields
// do not come and go as the figures' widths change from line to line.
func (pr *progress) draw(now time.Time) {
	width := pr.width()
	if pr.w.terminal && width > 1 {
		width-- // never the last column: see the comment at the top
	}
	fields := progressFields(pr.last)
	if pr.layout.width != width || !pr.layout.fits(fields) {
		pr.layout = planLine(fields, width)
	}
	pr.w.draw(pr.layout.render(fields))
	pr.lastDraw = now
}

// finish stops the sampling, takes a last sample, prints the last line and
// ends it, and returns the observations.
func (pr *progress) finish() observations {
	close(pr.stop)
	<-pr.done
	now := time.Now()
	pr.sample(now)
	pr.draw(now)
	pr.w.end()
	return pr.obs
}
