package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kplgo/producer/sdkv2"
)

// maxConnections is the producer's MaxConnections, its default (package
// sdkv2 exports no constant for it), set explicitly so that the verdict
// knows how many calls in flight are all of them.
const maxConnections = 24

// Thresholds of the verdict on what set the throughput.
const (
	// minVerdictTime: a shorter run is too short to tell.
	minVerdictTime = 500 * time.Millisecond
	// busyShare: a limit that held the producer back in at least this
	// share of the samples (rate limit, calls in flight) set the pace.
	busyShare = 0.5
	// cpuShareFull: CPU use at least this share of the cores available
	// (this process: GOMAXPROCS; the local server: one core) is a full use.
	cpuShareFull = 0.8
	// throttledShare: Kinesis throttling at least this share of the
	// Kinesis records put set the pace.
	throttledShare = 0.01
	// pollEvery is how often the producer looks at a shard held back by its
	// rate limit, each look counted in Stats.RateLimited (about every 10 ms).
	pollEvery = 10 * time.Millisecond
)

// runFigures are what the verdict is drawn from.
type runFigures struct {
	elapsed  time.Duration      // from the first Put to the end of Stop
	obs      observations       // the progress samples
	stats    sdkv2.Stats        // at the end
	shards   []sdkv2.ShardStats // at the end
	maxConns int                // the producer's MaxConnections
	procs    int                // cores this process may use: GOMAXPROCS, at most the CPUs

	cpu       time.Duration // this process's CPU time over elapsed
	cpuOK     bool
	serverCPU time.Duration // the local server's
	serverOK  bool
}

// finding is one limit that set the pace, and the figures that show it.
type finding struct {
	limit    string
	evidence []string
}

// verdict says what set the throughput of a run: the shards' rate limit,
// the server (or Kinesis), this process's CPU, or no single one of them
// ("no single limit (mixed)", also when several apply), with the figures.
func verdict(f runFigures) string {
	secs := f.elapsed.Seconds()
	if f.elapsed < minVerdictTime || f.obs.samples < 3 {
		return fmt.Sprintf("the run was too short to tell (%v, %d samples)", f.elapsed.Round(time.Millisecond), f.obs.samples)
	}
	share := func(n int) float64 { return float64(n) / float64(f.obs.samples) }
	var found []finding

	// The shards' rate limit: it held records back in most samples, or it
	// refused records at most of its looks at every shard while records
	// waited in a fair share of the samples.
	held := share(f.obs.heldBack)
	limited := 0
	for _, s := range f.shards {
		if s.ShardID != "" && s.RateRecords > 0 {
			limited++
		}
	}
	looks := 0.0 // refused looks per shard and poll
	if limited > 0 {
		looks = float64(f.stats.RateLimited) / (float64(limited) * secs / pollEvery.Seconds())
	}
	if held >= busyShare || (looks >= busyShare && held >= busyShare/2) {
		ev := []string{fmt.Sprintf("rate limit held records back %s of the time", percent(held))}
		if s := shardLimits(f.shards); s != "" {
			ev = append(ev, s)
		}
		found = append(found, finding{"the shards' rate limit", ev})
	}

	// The server or Kinesis: throttling, every connection busy most of the
	// time, or the local server at a full core (kinesalite runs its
	// JavaScript on one thread).
	var server []string
	if t := f.stats.Throttled; t > 0 && float64(t) >= throttledShare*float64(max(1, f.stats.KinesisRecordsPut)) {
		server = append(server, fmt.Sprintf("Kinesis throttled %s records (%s of those put)",
			thousands(t), percent(float64(t)/float64(max(1, f.stats.KinesisRecordsPut)))))
	}
	if full := share(f.obs.fullFlight); full >= busyShare {
		server = append(server, fmt.Sprintf("%d or more of %d calls in flight %s of the time", fullFlight(f.maxConns), f.maxConns, percent(full)))
	}
	serverCores := 0.0
	if f.serverOK {
		serverCores = f.serverCPU.Seconds() / secs
		if serverCores >= cpuShareFull {
			server = append(server, fmt.Sprintf("the local server used %s of one core (its JavaScript runs on one thread)", percent(serverCores)))
		}
	}
	if len(server) > 0 {
		found = append(found, finding{"the server / Kinesis", server})
	}

	// This process's CPU: near all of the cores it may use.
	cores := 0.0
	if f.cpuOK {
		cores = f.cpu.Seconds() / secs
		if procs := max(1, f.procs); cores >= cpuShareFull*float64(procs) {
			found = append(found, finding{"this process's CPU", []string{
				fmt.Sprintf("it used %.2f cores of the %d it may use (GOMAXPROCS)", cores, procs)}})
		}
	}

	switch len(found) {
	case 1:
		return found[0].limit + " (" + strings.Join(found[0].evidence, "; ") + ")"
	case 0:
		ev := []string{
			fmt.Sprintf("rate limit held records back %s of the time", percent(held)),
			fmt.Sprintf("calls in flight at most %d of %d", f.obs.maxInFlight, f.maxConns),
		}
		if f.cpuOK {
			ev = append(ev, fmt.Sprintf("this process %s of one core", percent(cores)))
		}
		if f.serverOK {
			ev = append(ev, fmt.Sprintf("local server %s of one core", percent(serverCores)))
		}
		return "no single limit (mixed: " + strings.Join(ev, "; ") + ")"
	default:
		var parts []string
		for _, fd := range found {
			parts = append(parts, fd.limit+": "+strings.Join(fd.evidence, ", "))
		}
		return "no single limit (mixed: " + strings.Join(parts, "; ") + ")"
	}
}

// shardLimits describes the shards' rate limits at the end: one figure when
// they are all alike, else their range, and why they last changed; "" when
// no shard has one.
func shardLimits(shards []sdkv2.ShardStats) string {
	loR, hiR, loB, hiB := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	n := 0
	why := map[sdkv2.RateReason]int{}
	for _, s := range shards {
		if s.ShardID == "" || s.RateRecords <= 0 {
			continue
		}
		n++
		loR, hiR = min(loR, s.RateRecords), max(hiR, s.RateRecords)
		loB, hiB = min(loB, s.RateBytes), max(hiB, s.RateBytes)
		why[s.RateReason]++
	}
	if n == 0 {
		return ""
	}
	var reasons []string
	for _, r := range []sdkv2.RateReason{sdkv2.RateInitial, sdkv2.RateThrottled, sdkv2.RateProbe} {
		switch c := why[r]; {
		case c == 0:
		case n == 1:
			reasons = append(reasons, r.String())
		default:
			reasons = append(reasons, fmt.Sprintf("%s %d", r, c))
		}
	}
	last := " (last change: " + strings.Join(reasons, ", ") + ")"
	recs := func(v float64) string { return thousands(int64(math.Round(v))) }
	mb := func(v float64) string { return strconv.FormatFloat(v/(1<<20), 'f', 2, 64) } // Kinesis's limits are in MiB
	if recs(loR) == recs(hiR) && mb(loB) == mb(hiB) {
		if n == 1 {
			return fmt.Sprintf("the shard's limit at the end %s records/s, %s MiB/s%s", recs(hiR), mb(hiB), last)
		}
		return fmt.Sprintf("each shard's limit at the end %s records/s, %s MiB/s%s", recs(hiR), mb(hiB), last)
	}
	return fmt.Sprintf("the shards' limits at the end %s-%s records/s, %s-%s MiB/s%s", recs(loR), recs(hiR), mb(loB), mb(hiB), last)
}

// percent formats a share as a whole percentage.
func percent(share float64) string { return fmt.Sprintf("%.0f%%", 100*share) }

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
