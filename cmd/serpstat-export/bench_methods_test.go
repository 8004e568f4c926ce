package main_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// BenchmarkE2EMethods exports 200,000 rows of every paged method per
// iteration into Parquet (the slowest format), unthrottled, and reports
// rows/s over the binary's wall time: issue 13's floor is 100,000 rows/s
// for each method, ten times the fastest plan's rate.
func BenchmarkE2EMethods(b *testing.B) {
	const rows = 200_000
	for _, m := range backlinks.Methods {
		b.Run(m.Name, func(b *testing.B) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: rows, Wall: 600_000})
			defer srv.Close()
			var total time.Duration
			var peak int64
			for i := 0; b.Loop(); i++ {
				args := []string{"export", "--endpoint", srv.URL, "--method", m.Name,
					"--query", fmt.Sprintf("e%d.example.com", i),
					"--rps", "100000", "--size", "1000", "--wall", "600000",
					"--out", filepath.Join(b.TempDir(), "out.parquet")}
				if m.Intersect > 0 {
					args = append(args, "--intersect", "one.example.com,two.example.com")
				}
				r := benchRun(b, args...)
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
