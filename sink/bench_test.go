package sink

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// realisticRows returns n rows shaped like the API's: URLs of 60 to 100
// bytes, anchors of 20 to 40, a few link types, dates of the last decade.
// The same n gives the same rows.
func realisticRows(n int) []serpstattest.Backlink {
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("seo backlinks marketing guide review best top how to buy cheap online news blog " +
		"product service local business shop travel health recipe tips tools software free download")
	pick := func() string { return words[rng.IntN(len(words))] }
	text := func(min, max int, sep string) string {
		var b strings.Builder
		want := min + rng.IntN(max-min+1)
		for b.Len() < want {
			if b.Len() > 0 {
				b.WriteString(sep)
			}
			b.WriteString(pick())
		}
		return b.String()[:want]
	}
	linkTypes := []string{"href", "href", "href", "img", "redirect", "frame"}
	start := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]serpstattest.Backlink, n)
	for i := range rows {
		seen := start.Add(time.Duration(rng.Int64N(int64(10 * 365 * 24 * time.Hour))))
		visited := seen.Add(time.Duration(rng.Int64N(int64(300 * 24 * time.Hour))))
		domain := fmt.Sprintf("https://www.%s-%s%d.com/", pick(), pick(), rng.IntN(10000))
		nofollow := "follow"
		if rng.IntN(4) == 0 {
			nofollow = "nofollow"
		}
		rows[i] = serpstattest.Backlink{
			URLFrom:     domain + text(60-len(domain), 100-len(domain), "/"),
			URLTo:       "https://target-site.com/" + text(36, 76, "-"),
			Nofollow:    nofollow,
			LinkType:    linkTypes[rng.IntN(len(linkTypes))],
			LinksExt:    serpstat.Int(rng.IntN(500)),
			LinkText:    text(20, 40, " "),
			FirstSeen:   seen.Format(time.DateOnly),
			LastVisited: visited.Format(time.DateTime),
			DomainRank:  serpstat.Int(rng.IntN(101)),
		}
	}
	return rows
}

// countingWriter counts the bytes written to it.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// benchPool holds distinct rows for the benchmarks to cycle through, so
// that compression does not see the same batch over and over.
var benchPool = sync.OnceValue(func() []serpstat.Row { return backlinkRows(realisticRows(100_000)) })

// batch returns the i-th batch of 1000 rows of benchPool.
func batch(i int) []serpstat.Row {
	pool := benchPool()
	start := (i * 1000) % len(pool)
	return pool[start : start+1000]
}

// realisticThreats returns n rows of backlinks.Threats shaped like the
// API's: domains of 10 to 30 bytes, one to three platforms, one or two
// threat types, dates of the last two years, unknown keys in one row of
// a hundred. The same n gives the same rows.
func realisticThreats(n int) []serpstat.Row {
	rng := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields("free download cheap pills casino bonus crack keygen win prize login secure update bank " +
		"account verify wallet crypto invest")
	platforms := []string{"windows", "linux", "android", "osx", "ios", "any_platform", "all_platforms", "chrome"}
	threats := []string{"malware", "social_engineering", "unwanted_software", "potentially_harmful_application"}
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]serpstat.Row, n)
	for i := range rows {
		domain := fmt.Sprintf("%s-%s%d.example", words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(1000))
		plats := make([]string, 1+rng.IntN(3))
		for j := range plats {
			plats[j] = platforms[rng.IntN(len(platforms))]
		}
		kinds := make([]string, 1+rng.IntN(2))
		for j := range kinds {
			kinds[j] = threats[rng.IntN(len(threats))]
		}
		rows[i] = serpstat.Row{Values: []serpstat.Value{
			{Str: domain}, {Str: "target-site.com"}, {Int: int64(rng.IntN(5000))},
			{List: plats}, {List: kinds},
			{Str: start.Add(time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour)))).Format(time.DateOnly)},
		}}
		if rng.IntN(100) == 0 {
			rows[i].Extra = []byte(`{"source":"gsb","score":0.93}`)
		}
	}
	return rows
}

// threatPool is benchPool for threats.
var threatPool = sync.OnceValue(func() []serpstat.Row { return realisticThreats(100_000) })

// benchmarkSink writes batches of 1000 rows of new-backlinks, one batch an
// op, to a counting io.Discard and reports rows/s, B/row and allocs/row.
func benchmarkSink(b *testing.B, newSink func(io.Writer) RowWriter) {
	benchmarkRows(b, newSink, benchPool())
}

// benchmarkRows is benchmarkSink for batches of any pool of rows.
func benchmarkRows(b *testing.B, newSink func(io.Writer) RowWriter, pool []serpstat.Row) {
	batch := func(i int) []serpstat.Row {
		start := (i * 1000) % len(pool)
		return pool[start : start+1000]
	}
	var out countingWriter
	w := newSink(&out)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if err := w.Write(batch(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	n := float64(b.N * 1000)
	b.ReportMetric(n/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(out.n)/n, "B/row")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/row")
}

func BenchmarkCSV(b *testing.B) {
	benchmarkSink(b, func(w io.Writer) RowWriter { return NewCSV(w, nb) })
}

func BenchmarkNDJSON(b *testing.B) {
	benchmarkSink(b, func(w io.Writer) RowWriter { return NewNDJSON(w, nb) })
}

func BenchmarkParquet(b *testing.B) {
	benchmarkSink(b, func(w io.Writer) RowWriter { return NewParquet(w, nb) })
}

func BenchmarkCSVThreats(b *testing.B) {
	benchmarkRows(b, func(w io.Writer) RowWriter { return NewCSV(w, backlinks.Threats) }, threatPool())
}

func BenchmarkNDJSONThreats(b *testing.B) {
	benchmarkRows(b, func(w io.Writer) RowWriter { return NewNDJSON(w, backlinks.Threats) }, threatPool())
}

func BenchmarkParquetThreats(b *testing.B) {
	benchmarkRows(b, func(w io.Writer) RowWriter { return NewParquet(w, backlinks.Threats) }, threatPool())
}

// BenchmarkParquetRowGroup writes 500,000 rows an op with several row group
// sizes and reports the peak live heap, sampled every 10 batches: the
// basis of DefaultRowGroupRows. Run it with -benchtime=1x.
func BenchmarkParquetRowGroup(b *testing.B) {
	batch(0)
	for _, size := range []int{10_000, 16_000, 25_000, 50_000, 100_000, 250_000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			var peak uint64
			var out countingWriter
			for b.Loop() {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				base := ms.HeapAlloc
				w := NewParquet(&out, nb)
				w.RowGroupRows = size
				for i := range 500 {
					if err := w.Write(batch(i)); err != nil {
						b.Fatal(err)
					}
					if i%10 == 9 {
						runtime.GC() // leaves the live heap only
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapAlloc-min(base, ms.HeapAlloc))
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(out.n)/float64(b.N*500*1000), "B/row")
		})
	}
}
