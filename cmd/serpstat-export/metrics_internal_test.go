package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/lake"
	"github.com/serpstat-export/serpstat-export/metrics"
)

// TestMetricsOfTheSummary: the figures are the summary's, the queries
// counted by the statuses the summary gives them.
func TestMetricsOfTheSummary(t *testing.T) {
	end := time.Unix(1796515200, 0)
	counts := lake.Counts{Rows: 4500, RowsCommitted: 4000, CreditsBilled: 4012, Requests: 9, Retries: 2, ElapsedSeconds: 1.5}
	for _, tc := range []struct {
		name string
		sum  lake.Summary
		want metrics.Run
	}{
		{
			name: "several queries, one failed",
			sum: lake.Summary{Method: "ref-domains", ExitCode: 1, Counts: counts, Queries: []lake.QuerySummary{
				{Query: "a", Counts: lake.Counts{Status: "done"}}, {Query: "b", Counts: lake.Counts{Status: "failed"}},
				{Query: "c", Counts: lake.Counts{Status: "done"}},
			}},
			want: metrics.Run{Method: "ref-domains", Rows: 4000, Credits: 4012, Requests: 9, Retries: 2, Duration: 1500 * time.Millisecond,
				ExitCode: 1, Queries: map[string]int{"done": 2, "failed": 1}},
		},
		{
			name: "one query, done",
			sum:  lake.Summary{Method: "new-backlinks", Query: "a", Counts: withStatus(counts, "done")},
			want: metrics.Run{Method: "new-backlinks", Rows: 4000, Credits: 4012, Requests: 9, Retries: 2, Duration: 1500 * time.Millisecond,
				LastSuccess: end, Queries: map[string]int{"done": 1}},
		},
		{
			name: "refused before the run: the method of the settings, no query",
			sum:  lake.Summary{ExitCode: 2, Counts: lake.Counts{Status: "usage"}},
			want: metrics.Run{Method: "anchors", ExitCode: 2, Queries: map[string]int{}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, &tc.want, metricsOf(&tc.sum, "anchors", end))
		})
	}
}

func withStatus(c lake.Counts, status string) lake.Counts {
	c.Status = status
	return c
}
