package main_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
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
	r, err := runMeasured(cmd)
	if err != nil {
		out := stderr.String()
		b.Fatalf("%s %s: %v\n%s", filepath.Base(binary), strings.Join(args, " "), err, out[max(0, len(out)-2000):])
	}
	if r.maxRSS < 0 {
		b.Fatal("no peak RSS for the process")
	}
	return r
}

// runMeasured runs cmd and returns its wall time and peak RSS (-1 when
// it could not be measured), and the error of its run.
func runMeasured(cmd *exec.Cmd) (benchResult, error) {
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return benchResult{}, err
	}
	peak := watchRSS(cmd.Process.Pid)
	err := cmd.Wait()
	r := benchResult{wall: time.Since(start), maxRSS: -1}
	if rss, ok := peak(cmd.ProcessState); ok {
		r.maxRSS = rss
	}
	return r, err
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

// saturationShapes are the API limiters of BenchmarkE2ESaturation, all
// at 10 requests/s: token buckets of burst 1 (no burst: a request less
// than 100ms after the last accepted one is refused), 2 and 10 (ceil(rps),
// the fake's default), and a fixed window of 10 requests in each second
// of the clock.
var saturationShapes = []struct {
	name string
	opts serpstattest.Options
}{
	{"burst=1", serpstattest.Options{Burst: 1}},
	{"burst=2", serpstattest.Options{Burst: 2}},
	{"burst=10", serpstattest.Options{Burst: 10}},
	{"window", serpstattest.Options{RateShape: serpstattest.ShapeWindow}},
}

// saturationLatencies are the API's answer times the rate must survive.
var saturationLatencies = []time.Duration{0, 300 * time.Millisecond, 1500 * time.Millisecond}

// saturation is what one run against a rate-limited fake measured.
type saturation struct {
	ratio, ratioAll float64 // achieved ÷ configured: after the first `skip` pages, and all
	overRate        int     // over-rate answers
	requests        int
	inFlight        int
}

// measureSaturation reads srv's log: the answered pages' arrivals give
// the rate, (n−1)/(last−first), over all of them and over those after the
// first skip (each process's page 1: the rest cannot be planned before it
// comes back).
func measureSaturation(b *testing.B, srv *serpstattest.Server, pages, skip int, rps float64) saturation {
	b.Helper()
	var arrivals []time.Time
	for _, e := range srv.Log() {
		if e.Method == backlinks.NewBacklinks.API && e.Outcome == serpstattest.OutcomeOK {
			arrivals = append(arrivals, e.Time)
		}
	}
	st := srv.Stats()
	if len(arrivals) != pages {
		b.Fatalf("fake answered %d pages, want %d", len(arrivals), pages)
	}
	rate := func(ts []time.Time) float64 {
		return float64(len(ts)-1) / ts[len(ts)-1].Sub(ts[0]).Seconds()
	}
	return saturation{ratio: rate(arrivals[skip:]) / rps, ratioAll: rate(arrivals) / rps,
		overRate: st.RateLimited, requests: st.Requests, inFlight: st.MaxInFlight}
}

// report reports the mean of runs: "ratio" (after page 1), "ratio-all",
// "over-rate/op", "refused-%" (of every request) and "max-in-flight" (the
// most of any run).
func reportSaturation(b *testing.B, runs []saturation) {
	var ratio, ratioAll, over, reqs float64
	inFlight := 0
	for _, r := range runs {
		ratio += r.ratio
		ratioAll += r.ratioAll
		over += float64(r.overRate)
		reqs += float64(r.requests)
		inFlight = max(inFlight, r.inFlight)
	}
	n := float64(len(runs))
	b.ReportMetric(ratio/n, "ratio")
	b.ReportMetric(ratioAll/n, "ratio-all")
	b.ReportMetric(over/n, "over-rate/op")
	b.ReportMetric(100*over/reqs, "refused-%")
	b.ReportMetric(float64(inFlight), "max-in-flight")
}

// BenchmarkE2ESaturation exports 40 pages at --rps 10 from a fake that
// allows 10 requests/s, by each of saturationShapes, and adds latency to
// every answer, with the default (automatic) workers. It reports the
// achieved rate of answered pages divided by the configured rate,
// computed from the fake's log as (n-1)/(last-first) over the arrivals of
// pages 2..40 ("ratio": page 1 must come back before the rest can be
// planned) and of all 40 ("ratio-all"), the over-rate answers (a run, and
// the share of every request), and the most requests in flight.
func BenchmarkE2ESaturation(b *testing.B) {
	const (
		rps   = 10
		pages = 40
	)
	for _, shape := range saturationShapes {
		for _, lat := range saturationLatencies {
			b.Run(shape.name+"/latency="+lat.String(), func(b *testing.B) {
				var runs []saturation
				for i := 0; b.Loop(); i++ {
					o := shape.opts
					o.Rows, o.RPS, o.Latency = pages*1000, rps, lat
					srv := serpstattest.NewServer(o)
					benchRun(b, "export", "--endpoint", srv.URL, "--query", fmt.Sprintf("s%d.example.com", i),
						"--rps", fmt.Sprint(rps), "--size", "1000",
						"--out", filepath.Join(b.TempDir(), "out.ndjson"))
					runs = append(runs, measureSaturation(b, srv, pages, 1, rps))
					srv.Close()
				}
				reportSaturation(b, runs)
			})
		}
	}
}

// BenchmarkE2ESaturationCoordinated runs two and three processes at
// --rps 10 through one coordinator (a real redis-server: the one of
// SERPSTAT_TEST_REDIS_ADDR, else one it starts; skipped when none is
// installed) against a fake that allows 10 requests/s with no burst, each
// exporting 20 pages of 100 rows, and reports as BenchmarkE2ESaturation
// for them together ("ratio" after each process's page 1).
func BenchmarkE2ESaturationCoordinated(b *testing.B) {
	const (
		rps   = 10
		pages = 20
	)
	url := benchRedis(b)
	for _, procs := range []int{2, 3} {
		for _, lat := range saturationLatencies[1:] {
			b.Run(fmt.Sprintf("procs=%d/latency=%s", procs, lat), func(b *testing.B) {
				var runs []saturation
				for i := 0; b.Loop(); i++ {
					token := fmt.Sprintf("bench-%d-%d-%d", procs, i, time.Now().UnixNano())
					srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: pages * 100, RPS: rps, Burst: 1, Latency: lat})
					dir := b.TempDir()
					var cmds []*exec.Cmd
					var outs []*bytes.Buffer
					for p := range procs {
						cmd := exec.Command(binary, "export", "--endpoint", srv.URL, "--query", fmt.Sprintf("c%d-%d.example.com", i, p),
							"--rps", fmt.Sprint(rps), "--size", "100", "--coordinator", url, "--progress", "never",
							"--out", filepath.Join(dir, fmt.Sprintf("out%d.ndjson", p)))
						cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+token)
						var out bytes.Buffer
						cmd.Stdout, cmd.Stderr = &out, &out
						if err := cmd.Start(); err != nil {
							b.Fatal(err)
						}
						cmds, outs = append(cmds, cmd), append(outs, &out)
					}
					for p, cmd := range cmds {
						if err := cmd.Wait(); err != nil {
							b.Fatalf("process %d: %v\n%s", p, err, outs[p])
						}
					}
					runs = append(runs, measureSaturation(b, srv, procs*pages, procs, rps))
					srv.Close()
				}
				reportSaturation(b, runs)
			})
		}
	}
}

// benchRedis returns the URL of a redis-server for a benchmark: the one
// of SERPSTAT_TEST_REDIS_ADDR, else one of its own on a free port, stopped
// at its end; it skips b when none is installed.
func benchRedis(b *testing.B) string {
	b.Helper()
	if addr := os.Getenv("SERPSTAT_TEST_REDIS_ADDR"); addr != "" {
		return "redis://" + addr + "/0"
	}
	path, err := exec.LookPath("redis-server")
	if err != nil {
		b.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", b.TempDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for range 500 {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return "redis://" + addr + "/0"
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("redis-server did not start")
	return ""
}

// rssCases are the exports of BenchmarkE2EPeakRSS: rows served, the
// fake's wall and the export's --wall. "sliced" is a query past the API's
// 60,000-row wall, exported in slices as against the real API; the others
// raise both walls so that one part holds every row.
var rssCases = []struct {
	name           string
	rows, fakeWall int
	wall           int
}{
	{"rows=60000", 60_000, 600_000, 600_000},
	{"rows=600000", 600_000, 600_000, 600_000},
	{"sliced/rows=600000", 600_000, 60_000, 60_000},
}

// BenchmarkE2EPeakRSS exports 60,000 and 600,000 rows into each format,
// unthrottled, and reports the binary's peak RSS, which should not grow
// with the rows: once with every row in one part (fake and export both
// at --wall 600000), once sliced past the 60,000-row wall.
func BenchmarkE2EPeakRSS(b *testing.B) {
	for _, ext := range benchFormats {
		for _, c := range rssCases {
			b.Run(ext+"/"+c.name, func(b *testing.B) {
				srv := serpstattest.NewServer(serpstattest.Options{Rows: c.rows, Wall: c.fakeWall})
				defer srv.Close()
				var peak int64
				var total time.Duration
				for i := 0; b.Loop(); i++ {
					r := benchRun(b, "export", "--endpoint", srv.URL, "--query", fmt.Sprintf("m%d.example.com", i),
						"--rps", "100000", "--size", "1000", "--wall", fmt.Sprint(c.wall),
						"--out", filepath.Join(b.TempDir(), "out."+ext))
					peak = max(peak, r.maxRSS)
					total += r.wall
				}
				if got := srv.Stats().RowsServed; got < c.rows*b.N {
					b.Fatalf("fake served %d rows, want at least %d", got, c.rows*b.N)
				}
				b.ReportMetric(float64(peak)/(1<<20), "RSS-MiB")
				b.ReportMetric(float64(c.rows*b.N)/total.Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkE2EStartRSS reports the peak RSS of the binary doing nothing
// but start: `version`, and an export that fails before its first request
// (no token). Every export holds this much before its first row: the code
// and read-only data the package initialisers touch (of every linked SDK),
// and their heap.
func BenchmarkE2EStartRSS(b *testing.B) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"version", []string{"version"}},
		{"export-no-token", []string{"export", "--query", "example.com", "--out", "out.csv"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var peak int64
			for b.Loop() {
				cmd := exec.Command(binary, c.args...)
				cmd.Dir = b.TempDir()
				cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN=")
				r, _ := runMeasured(cmd) // the export fails, as it should
				if r.maxRSS < 0 {
					b.Fatal("no peak RSS for the process")
				}
				peak = max(peak, r.maxRSS)
			}
			b.ReportMetric(float64(peak)/(1<<20), "RSS-MiB")
		})
	}
}

// BenchmarkE2EManyQueries exports 60 one-page domains (500 rows each, one
// --queries-file) into one shared CSV at --rps 10, from a fake that
// allows 10 requests/s and adds latency to every answer, with the default
// (automatic) workers: the queries share one pool of request slots, so
// the next queries' pages are asked while earlier ones are in flight. It
// reports the requests answered per second over the run, (n-1)/(last -
// first) over the fake's log ("req/s"), that rate divided by the plan's
// ("ratio"), the over-rate answers and the most requests in flight.
func BenchmarkE2EManyQueries(b *testing.B) {
	const (
		rps     = 10
		queries = 60
	)
	for _, lat := range []time.Duration{300 * time.Millisecond, 1500 * time.Millisecond} {
		b.Run("latency="+lat.String(), func(b *testing.B) {
			var reqs float64
			var overRate, inFlight int
			for i := 0; b.Loop(); i++ {
				srv := serpstattest.NewServer(serpstattest.Options{Rows: 500, RPS: rps, Latency: lat})
				dir := b.TempDir()
				var list strings.Builder
				for q := range queries {
					fmt.Fprintf(&list, "m%d-%d.example.com\n", i, q)
				}
				file := filepath.Join(dir, "domains.txt")
				if err := os.WriteFile(file, []byte(list.String()), 0o600); err != nil {
					b.Fatal(err)
				}
				benchRun(b, "export", "--endpoint", srv.URL, "--queries-file", file,
					"--rps", fmt.Sprint(rps), "--size", "1000", "--progress", "never",
					"--out", filepath.Join(dir, "out.csv"))
				var arrivals []time.Time
				for _, e := range srv.Log() {
					if e.Method == backlinks.NewBacklinks.API && e.Outcome == serpstattest.OutcomeOK {
						arrivals = append(arrivals, e.Time)
					}
				}
				st := srv.Stats()
				srv.Close()
				if len(arrivals) != queries {
					b.Fatalf("fake answered %d pages, want %d", len(arrivals), queries)
				}
				reqs += float64(len(arrivals)-1) / arrivals[len(arrivals)-1].Sub(arrivals[0]).Seconds()
				overRate += st.RateLimited
				inFlight = max(inFlight, st.MaxInFlight)
			}
			b.ReportMetric(reqs/float64(b.N), "req/s")
			b.ReportMetric(reqs/float64(b.N)/rps, "ratio")
			b.ReportMetric(float64(overRate)/float64(b.N), "over-rate/op")
			b.ReportMetric(float64(inFlight), "max-in-flight")
		})
	}
}
