package lake_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/serpstat-export/serpstat-export/lake"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// A run of two domains into a hive-partitioned lake: one file a domain
// under the method and the date, then the manifest and _SUCCESS beside
// them.
func Example() {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500})
	defer srv.Close()
	dir, err := os.MkdirTemp("", "lake-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	p := pager.New(pager.Config{
		Fetcher: &serpstat.Client{Endpoint: srv.URL, Token: serpstattest.DefaultToken},
		Params:  serpstat.Params{SearchType: serpstat.SearchDomain},
	})
	run := &lake.Run{
		Budget: pager.NewBudget(10_000),
		Settings: lake.Settings{
			RunID: "r1", Date: "2026-01-31",
			Queries:  []string{"a.example", "b.example"},
			Out:      []string{filepath.Join(dir, "{method}", "dt={date}", "domain={query}", "part-{part}.parquet")},
			StateDir: filepath.Join(dir, "state"),
		},
		Pager: p,
	}
	res, err := run.Export(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	sum := lake.NewSummary("r1", "export", "done", 0, res, nil, time.Second)
	fmt.Println(sum.Method, sum.Rows, "rows,", sum.CreditsBilled, "credits")
	for _, o := range sum.Outputs {
		rel, _ := filepath.Rel(dir, o.Path)
		fmt.Println(filepath.ToSlash(rel), o.Rows)
	}
	rel, _ := filepath.Rel(dir, sum.Manifest)
	fmt.Println(filepath.ToSlash(rel))
	// Output:
	// new-backlinks 5000 rows, 5000 credits
	// new-backlinks/dt=2026-01-31/domain=a.example/part-00000.parquet 2500
	// new-backlinks/dt=2026-01-31/domain=b.example/part-00000.parquet 2500
	// new-backlinks/dt=2026-01-31/_manifest.json
}
