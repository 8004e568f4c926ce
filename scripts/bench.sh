#!/usr/bin/env bash
# Runs the benchmarks of issues #8 and #13 and writes BENCHMARKS.md: the sinks, the
# decoding of a 1,000-row page (of every method), the fake producing one, and the end-to-end
# runs of the binary against the fake (throughput per format and per
# method, rate saturation per API limiter shape and latency, one process and
# two and three through a coordinator (a redis-server of its own, or
# $SERPSTAT_TEST_REDIS_ADDR's; skipped without one), peak RSS per format at 60,000 and
# 600,000 rows, one part and sliced, and at start), plus a CPU profile of
# the decoding. The raw go test output goes to $BENCH_RAW (out/bench.txt).
# Takes about 13 minutes on 2 CPUs (a sliced export of 600,000 rows takes
# 10-20 s: the fake filters its rows for every slice); BENCH_COUNT (3) runs
# of each, medians reported. `make bench-rss` runs only the RSS part.
set -euo pipefail
go=${GO:-go}
raw=${BENCH_RAW:-out/bench.txt}
count=${BENCH_COUNT:-3}
dir=$(dirname "$raw")
mkdir -p "$dir"
echo "# loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" >"$raw"
bench() { "$go" test -run '^$' -count "$count" "$@" 2>&1 | tee -a "$raw"; }
bench -benchmem -bench '^Benchmark(CSV|NDJSON|Parquet)(Threats)?$' ./sink
bench -benchmem -bench '^Benchmark(DecodePage1000|ClientNewBacklinks1000)$' ./serpstat
bench -benchmem -bench '^BenchmarkPage1000$' ./serpstat/serpstattest
bench -benchmem -bench '^BenchmarkDecodeAnswer$' ./serpstat/backlinks
# Each iteration is a whole export of seconds: one per run. No -benchmem:
# it would count the allocations of the fake, not of the binary.
echo "# loadavg before the end-to-end runs: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" >>"$raw"
bench -bench '^BenchmarkE2E' -benchtime 1x -timeout 40m ./cmd/serpstat-export
echo "# loadavg at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" >>"$raw"
# Where decoding spends its time.
"$go" test -run '^$' -bench '^BenchmarkDecodePage1000$' -benchtime 2s -count 1 \
  -cpuprofile "$dir/decode.prof" -o "$dir/serpstat.test" ./serpstat >/dev/null
"$go" tool pprof -top -nodecount 12 "$dir/serpstat.test" "$dir/decode.prof" >"$dir/decode-top.txt" 2>/dev/null
"$go" run ./scripts/benchreport -o BENCHMARKS.md -profile "$dir/decode-top.txt" <"$raw"
echo "wrote BENCHMARKS.md (raw output in $raw)" >&2
