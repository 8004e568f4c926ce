package main_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestNoBurstLimiterEveryRowOnce exports against a fake whose limiter has
// no burst (a request less than 1/rps after the last accepted one is
// refused) and the latency of a real API: over-rate answers, if any, are
// retried, and every row arrives once, every page billed once. The rate
// achieved is the benchmark's business (BenchmarkE2ESaturation), not a
// test's.
func TestNoBurstLimiterEveryRowOnce(t *testing.T) {
	for _, shape := range []serpstattest.Options{
		{Rows: 6000, RPS: 20, Burst: 1, RateShape: serpstattest.ShapeBucket, Latency: 50 * time.Millisecond},
		{Rows: 6000, RPS: 20, RateShape: serpstattest.ShapeWindow, Latency: 50 * time.Millisecond},
	} {
		t.Run("shape="+shape.RateShape, func(t *testing.T) {
			srv := serpstattest.NewServer(shape)
			defer srv.Close()
			out := filepath.Join(t.TempDir(), "n.csv")
			res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--query", "noburst.example",
				"--rps", "20", "--size", "500", "--out", out)
			require.Equal(t, 0, res.code, res.stderr)
			requireRows(t, asCSV(apiRows(srv, "noburst.example", 6000)), readCSV(t, out), "rows")
			st := srv.Stats()
			for k, n := range st.PagesBilled {
				assert.Equal(t, 1, n, "page %+v billed once", k)
			}
			assert.Equal(t, int64(6000), st.CreditsBilled)
			t.Logf("%d requests, %d over-rate answers", st.Requests, st.RateLimited)
		})
	}
}

func TestFakeAPIRateShapeFlags(t *testing.T) {
	res := runCLI(t, "", "fake-api", "-h")
	require.Equal(t, 0, res.code)
	for _, w := range []string{"--burst", "--rate-shape", "no burst"} {
		assert.Contains(t, res.stdout, w)
	}
	res = runCLI(t, "", "fake-api", "--rate-shape", "leaky")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, `unknown rate shape "leaky"`)
	res = runCLI(t, "", "fake-api", "--burst", "-1")
	assert.Equal(t, 2, res.code)
}

// TestThreeProcessesOnANoBurstLimiterEveryRowOnce runs three exports at
// --rps 10 through one coordinator against a fake of 10 requests/s with
// no burst: over-rate answers, if any, are retried, every row of every
// query arrives once and every page is billed once. (The share refused
// and the rate are BenchmarkE2ESaturationCoordinated's.)
func TestThreeProcessesOnANoBurstLimiterEveryRowOnce(t *testing.T) {
	url := redisURL(t)
	token := uniqueToken(t)
	srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: 1000, RPS: 10, Burst: 1, Latency: 100 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	queries := []string{"p1.example", "p2.example", "p3.example"}
	var procs []*proc
	for _, q := range queries {
		procs = append(procs, startCLI(t, token, dir, nil, "export", "--endpoint", srv.URL, "--query", q, "--rps", "10",
			"--size", "100", "--out", q+".csv", "--progress", "never", "--coordinator", url))
	}
	for _, p := range procs {
		res := p.wait(t)
		require.Equal(t, 0, res.code, res.stderr)
	}
	for _, q := range queries {
		requireRows(t, asCSV(apiRows(srv, q, 1000)), readCSV(t, filepath.Join(dir, q+".csv")), q)
	}
	st := srv.Stats()
	for k, n := range st.PagesBilled {
		assert.Equal(t, 1, n, "page %+v billed once", k)
	}
	assert.Equal(t, int64(3000), st.CreditsBilled)
	t.Logf("%d requests, %d over-rate answers", st.Requests, st.RateLimited)
}
