package main

import (
	"strings"
	"testing"
	"time"

	"github.com/kplgo/producer/sdkv2"
)

// shardsAt returns n shards' end figures with the given rate limit.
func shardsAt(n int, records, bytes float64) []sdkv2.ShardStats {
	out := make([]sdkv2.ShardStats, n)
	for i := range out {
		out[i] = sdkv2.ShardStats{ShardID: "shardId-00000000000" + string(rune('0'+i)), RateRecords: records, RateBytes: bytes,
			RateReason: sdkv2.RateProbe}
	}
	return out
}

func TestVerdict(t *testing.T) {
	const mib = 1 << 20
	// The default demo at the default rate limit: records held back in
	// most samples, little CPU, few calls in flight.
	rateLimited := runFigures{
		elapsed: 7 * time.Second, obs: observations{samples: 70, heldBack: 58, maxInFlight: 10},
		stats:  sdkv2.Stats{KinesisRecordsPut: 972, RateLimited: 2400},
		shards: shardsAt(4, 1500, 1.5*mib), maxConns: 24, procs: 2,
		cpu: 1200 * time.Millisecond, cpuOK: true, serverCPU: 1500 * time.Millisecond, serverOK: true,
	}
	// The default demo without a rate limit: the local server at a core.
	serverBound := runFigures{
		elapsed: 1800 * time.Millisecond, obs: observations{samples: 18, maxInFlight: 12},
		stats:    sdkv2.Stats{KinesisRecordsPut: 968},
		shards:   shardsAt(4, 0, 0),
		maxConns: 24, procs: 2,
		cpu: 740 * time.Millisecond, cpuOK: true, serverCPU: 1900 * time.Millisecond, serverOK: true,
	}
	with := func(f runFigures, change func(*runFigures)) runFigures {
		f.shards = append([]sdkv2.ShardStats(nil), f.shards...)
		change(&f)
		return f
	}

	for _, c := range []struct {
		name string
		f    runFigures
		want []string // the verdict starts with the first, and contains the others
	}{
		{"rate limit", rateLimited, []string{
			"the shards' rate limit (",
			"rate limit held records back 83% of the time; each shard's limit at the end 1,500 records/s, 1.50 MiB/s (last change: probe 4))"}},
		{"rate limit adapted, shards differ", with(rateLimited, func(f *runFigures) {
			f.shards[1].RateRecords, f.shards[1].RateBytes, f.shards[1].RateReason = 1020, 1.02*mib, sdkv2.RateThrottled
		}), []string{"the shards' rate limit (", "the shards' limits at the end 1,020-1,500 records/s, 1.02-1.50 MiB/s (last change: throttled 1, probe 3)"}},
		{"one shard", with(rateLimited, func(f *runFigures) { f.shards = f.shards[:1] }),
			[]string{"the shards' rate limit (", "the shard's limit at the end 1,500 records/s, 1.50 MiB/s (last change: probe)"}},
		{"rate limit by its refusals", with(rateLimited, func(f *runFigures) {
			f.obs.heldBack = 25 // 36% of the samples, refused at 2,400 of 2,800 looks
		}), []string{"the shards' rate limit (", "36% of the time"}},
		{"local server at a core", serverBound, []string{"the server / Kinesis (the local server used 106% of one core"}},
		{"throttled", with(serverBound, func(f *runFigures) {
			f.serverOK = false
			f.stats.Throttled = 50
		}), []string{"the server / Kinesis (Kinesis throttled 50 records (5% of those put))"}},
		{"all connections busy", with(serverBound, func(f *runFigures) {
			f.serverOK = false
			f.obs.fullFlight, f.obs.maxInFlight = 12, 24
		}), []string{"the server / Kinesis (21 or more of 24 calls in flight 67% of the time)"}},
		{"this process's CPU", with(serverBound, func(f *runFigures) {
			f.cpu, f.serverCPU = 3400*time.Millisecond, 900*time.Millisecond
		}), []string{"this process's CPU (it used 1.89 cores of the 2 it may use (GOMAXPROCS))"}},
		{"nothing clear", with(serverBound, func(f *runFigures) {
			f.serverCPU = 900 * time.Millisecond
			f.obs.heldBack = 3
		}), []string{"no single limit (mixed: ",
			"rate limit held records back 17% of the time; calls in flight at most 12 of 24; this process 41% of one core; local server 50% of one core)"}},
		{"nothing clear, no CPU figures", with(serverBound, func(f *runFigures) { f.cpuOK, f.serverOK = false, false }),
			[]string{"no single limit (mixed: ", "calls in flight at most 12 of 24)"}},
		{"two limits", with(rateLimited, func(f *runFigures) { f.serverCPU = 6500 * time.Millisecond }),
			[]string{"no single limit (mixed: the shards' rate limit: rate limit held records back 83% of the time, each shard's",
				"; the server / Kinesis: the local server used 93% of one core"}},
		{"too short", with(rateLimited, func(f *runFigures) { f.elapsed = 300 * time.Millisecond }),
			[]string{"the run was too short to tell (300ms"}},
		{"too few samples", with(rateLimited, func(f *runFigures) { f.obs = observations{samples: 2, heldBack: 2} }),
			[]string{"the run was too short to tell"}},
	} {
		got := verdict(c.f)
		t.Logf("%s: %s", c.name, got)
		if !strings.HasPrefix(got, c.want[0]) {
			t.Errorf("%s: verdict %q, want it to start with %q", c.name, got, c.want[0])
		}
		for _, w := range c.want[1:] {
			if !strings.Contains(got, w) {
				t.Errorf("%s: verdict %q lacks %q", c.name, got, w)
			}
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1500: "1,500", 123456: "123,456",
		1234567: "1,234,567", -1234: "-1,234", -999: "-999"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
