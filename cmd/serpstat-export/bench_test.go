package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// The end-to-end benchmarks run the built binary (see TestMain) against
// the fake API on loopback, one export per iteration. `make bench` runs
// them with -benchtime=1x; each iteration takes seconds, so they never run
// in a plain `go test`.

// benchResult is one run of the binary.
type benchResult struct {
	wall   time.Duration // wall time of the process, start to exit
	maxRSS int64         // peak resident set, bytes
}

// benchRun runs the binary with args and the fake's token, fails b unless
// it exits 0, and returns its wall time and peak RSS.
func benchRun(b *testing.B, args ...string) benchResult {
	b.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		out := stderr.String()
		b.Fatalf("%s %s: %v\n%s", filepath.Base(binary), strings.Join(args, " "), err, out[max(0, len(out)-2000):])
	}
	rss, ok := peakRSS(cmd.ProcessState)
	if !ok {
		b.Fatal("no rusage for the process")
	}
	return benchResult{wall: wall, maxRSS: rss}
}

// benchExport exports rows rows of a fresh query from srv into one
// file of format ext under dir, with a rate nothing on loopback reaches.
func benchExport(b *testing.B, srv *serpstattest.Server, query, dir, ext string) benchResult {
	b.Helper()
	return benchRun(b, "export", "--endpoint", srv.URL, "--query", query,
		"--rps", "100000", "--size", "1000", "--wall", "600000",
		"--out", filepath.Join(dir, "out."+ext))
}

var benchFormats = []string{"csv", "ndjson", "parquet"}

// BenchmarkE2EThroughput exports 200,000 rows per iteration into one
// format, unthrottled, and reports rows/s over the binary's wall time
// (start-up, spool and final rename included).
func BenchmarkE2EThroughput(b *testing.B) {
	const rows = 200_000
	for _, ext := range benchFormats {
		b.Run(ext, func(b *testing.B) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: rows, Wall: 600_000})
			defer srv.Close()
			var total time.Duration
			var peak int64
			for i := 0; b.Loop(); i++ {
				r := benchExport(b, srv, fmt.Sprintf("t%d.example.com", i), b.TempDir(), ext)
				total += r.wall
				peak = max(peak, r.maxRSS)
			}
			if got := srv.Stats().RowsServed; got != rows*b.N {
				b.Fatalf("fake served %d rows, want %d", got, rows*b.N)
			}
			b.ReportMetric(float64(rows*b.N)/total.Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "RSS-MiB")
		})
	}
}

// BenchmarkE2ESaturation exports 40 pages at --rps 10 from a fake that
// allows 10 requests/s and adds latency to every answer, with the default
// (automatic) workers. It reports the achieved rate of answered pages
// divided by the configured rate, computed from the fake's log as
// (n-1)/(last-first) over the arrivals of pages 2..40 ("ratio": page 1
// must come back before the rest can be planned) and of all 40
// ("ratio-all"), the over-rate answers, and the most requests in flight.
func BenchmarkE2ESaturation(b *testing.B) {
	const (
		rps   = 10
		pages = 40
	)
	for _, lat := range []time.Duration{0, 300 * time.Millisecond, 1500 * time.Millisecond} {
		b.Run("latency="+lat.String(), func(b *testing.B) {
			var ratio, ratioAll float64
			var overRate, inFlight int
			for i := 0; b.Loop(); i++ {
				srv := serpstattest.NewServer(serpstattest.Options{Rows: pages * 1000, RPS: rps, Latency: lat})
				benchRun(b, "export", "--endpoint", srv.URL, "--query", fmt.Sprintf("s%d.example.com", i),
					"--rps", fmt.Sprint(rps), "--size", "1000",
					"--out", filepath.Join(b.TempDir(), "out.ndjson"))
				var arrivals []time.Time
				for _, e := range srv.Log() {
					if e.Method == serpstat.MethodNewBacklinks && e.Outcome == serpstattest.OutcomeOK {
						arrivals = append(arrivals, e.Time)
					}
				}
				st := srv.Stats()
				srv.Close()
				if len(arrivals) != pages {
					b.Fatalf("fake answered %d pages, want %d", len(arrivals), pages)
				}
				rate := func(ts []time.Time) float64 {
					return float64(len(ts)-1) / ts[len(ts)-1].Sub(ts[0]).Seconds()
				}
				ratio += rate(arrivals[1:]) / rps
				ratioAll += rate(arrivals) / rps
				overRate += st.RateLimited
				inFlight = max(inFlight, st.MaxInFlight)
			}
			b.ReportMetric(ratio/float64(b.N), "ratio")
			b.ReportMetric(ratioAll/float64(b.N), "ratio-all")
			b.ReportMetric(float64(overRate)/float64(b.N), "over-rate/op")
			b.ReportMetric(float64(inFlight), "max-in-flight")
		})
	}
}

// BenchmarkE2EPeakRSS exports 60,000 and 600,000 rows (past the usual
// wall: the fake and the export both get --wall 600000) and reports the
// binary's peak RSS, which should not grow with the rows.
func BenchmarkE2EPeakRSS(b *testing.B) {
	for _, ext := range []string{"ndjson", "parquet"} {
		for _, rows := range []int{60_000, 600_000} {
			b.Run(fmt.Sprintf("%s/rows=%d", ext, rows), func(b *testing.B) {
				srv := serpstattest.NewServer(serpstattest.Options{Rows: rows, Wall: 600_000})
				defer srv.Close()
				var peak int64
				var total time.Duration
				for i := 0; b.Loop(); i++ {
					r := benchExport(b, srv, fmt.Sprintf("m%d.example.com", i), b.TempDir(), ext)
					peak = max(peak, r.maxRSS)
					total += r.wall
				}
				b.ReportMetric(float64(peak)/(1<<20), "RSS-MiB")
				b.ReportMetric(float64(rows*b.N)/total.Seconds(), "rows/s")
			})
		}
	}
}
