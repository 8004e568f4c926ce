package main_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// promFamilies parses the Prometheus text format.
func promFamilies(t *testing.T, data []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(data))
	require.NoError(t, err, "%s", data)
	return fams
}

// promSum is the sum of name's series whose labels include want; ok is
// false when there is none.
func promSum(fams map[string]*dto.MetricFamily, name string, want map[string]string) (sum float64, ok bool) {
	for _, m := range fams[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if match {
			sum += m.GetGauge().GetValue()
			ok = true
		}
	}
	return sum, ok
}

// readProm reads a --metrics-file.
func readProm(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return promFamilies(t, data)
}

// requireFigures checks a run's figures against the fake's counters and
// the rows written.
func requireFigures(t *testing.T, fams map[string]*dto.MetricFamily, srv *serpstattest.Server, rows int, labels map[string]string) {
	t.Helper()
	credits, ok := promSum(fams, "serpstat_export_credits", labels)
	require.True(t, ok, "serpstat_export_credits")
	assert.EqualValues(t, srv.Stats().CreditsBilled, credits, "credits: what the API billed")
	written, ok := promSum(fams, "serpstat_export_rows", labels)
	require.True(t, ok, "serpstat_export_rows")
	assert.EqualValues(t, rows, written, "rows: what the outputs hold")
}

// TestMetricsFileAfterATwoDomainExport: the acceptance through the
// binary: after a 2-domain export the file's credits, summed over its
// series, are what the fake billed, its rows the rows written, its
// requests and retries what the fake saw; every metric has the method
// label; the last success's time is the run's.
func TestMetricsFileAfterATwoDomainExport(t *testing.T) {
	var failedOnce atomic.Bool
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(q string) int { return 2000 + len(q) },
		Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
			// One transient failure: one retry.
			if fi.Params.Query == "two.example" && fi.Params.Page == 2 && failedOnce.CompareAndSwap(false, true) {
				return serpstattest.Fault{Kind: serpstattest.FaultHTTPStatus, Status: 502}
			}
			return serpstattest.Fault{}
		}})
	defer srv.Close()
	dir := t.TempDir()
	prom := filepath.Join(dir, "textfile", "serpstat_export.prom")
	require.NoError(t, os.Mkdir(filepath.Dir(prom), 0o755))
	before := time.Now()
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000", "--size", "1000",
		"--query", "one.example", "--query", "two.example", "--out", filepath.Join(dir, "lake", "{query}.csv"),
		"--state-dir", filepath.Join(dir, "state"), "--metrics-file", prom)
	require.Equal(t, 0, res.code, res.stderr)

	rows := len(readCSV(t, filepath.Join(dir, "lake", "one.example.csv"))) + len(readCSV(t, filepath.Join(dir, "lake", "two.example.csv")))
	require.Equal(t, 2011+2011, rows)
	fams := readProm(t, prom)
	requireFigures(t, fams, srv, rows, nil)
	method := map[string]string{"method": "new-backlinks"}
	requests, _ := promSum(fams, "serpstat_export_requests", method)
	assert.EqualValues(t, srv.Stats().Requests, requests, "every request the fake received")
	retries, _ := promSum(fams, "serpstat_export_retries", method)
	assert.EqualValues(t, 1, retries)
	done, _ := promSum(fams, "serpstat_export_queries", map[string]string{"method": "new-backlinks", "status": "done"})
	assert.EqualValues(t, 2, done)
	code, _ := promSum(fams, "serpstat_export_exit_code", method)
	assert.EqualValues(t, 0, code)
	at, ok := promSum(fams, "serpstat_export_last_success_timestamp_seconds", method)
	require.True(t, ok, "a success has its time")
	assert.GreaterOrEqual(t, at, float64(before.Unix()))
	dur, _ := promSum(fams, "serpstat_export_duration_seconds", method)
	assert.Greater(t, dur, 0.0)
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			assert.Equal(t, "new-backlinks", labels["method"], name)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(prom))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left beside it")
}

// TestMetricsAreWrittenOnEveryExit: a budget stop, a failed query, bad
// input and an interruption each write the file, with their exit code
// and no new last-success time (an earlier one is kept), and credits that
// are what the fake billed.
func TestMetricsAreWrittenOnEveryExit(t *testing.T) {
	const earlier = 1700000000
	for _, tc := range []struct {
		name   string
		code   int
		args   []string
		status string // a query's status, "" for none
		sig    bool   // interrupted with Ctrl-C once the fake billed 2000
	}{
		{name: "budget", code: 3, args: []string{"--query", "a.example", "--budget", "1500"}},
		{name: "a query refused", code: 1, args: []string{"--query", "a.example", "--query", "refused.example"}, status: "failed"},
		{name: "bad input", code: 2, args: []string{"--query", "a.example", "--size", "5000"}},
		{name: "interrupted", code: 130, args: []string{"--query", "a.example", "--rps", "20", "--workers", "1", "--size", "100"}, sig: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: 5000, Latency: 5 * time.Millisecond,
				Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
					if fi.Params.Query == "refused.example" {
						return serpstattest.Fault{Kind: serpstattest.FaultAPIError, Code: 32117, Message: "Not allowed field: query"}
					}
					return serpstattest.Fault{}
				}})
			defer srv.Close()
			dir := t.TempDir()
			prom := filepath.Join(dir, "m.prom")
			// An earlier run's success.
			require.NoError(t, os.WriteFile(prom, []byte("# TYPE serpstat_export_last_success_timestamp_seconds gauge\n"+
				fmt.Sprintf("serpstat_export_last_success_timestamp_seconds{method=\"new-backlinks\"} %d\n", earlier)), 0o644))
			args := append([]string{"export", "--endpoint", srv.URL, "--rps", "1000", "--size", "1000",
				"--out", filepath.Join(dir, "{query}.csv"), "--state-dir", filepath.Join(dir, "state"), "--metrics-file", prom}, tc.args...)
			if tc.sig {
				stopAfterBilled(t, srv, 2000, os.Interrupt, args...)
			} else {
				res := runCLI(t, serpstattest.DefaultToken, args...)
				require.Equal(t, tc.code, res.code, res.stderr)
			}
			fams := readProm(t, prom)
			method := map[string]string{"method": "new-backlinks"}
			code, ok := promSum(fams, "serpstat_export_exit_code", method)
			require.True(t, ok)
			assert.EqualValues(t, tc.code, code)
			at, ok := promSum(fams, "serpstat_export_last_success_timestamp_seconds", method)
			require.True(t, ok, "the earlier success's time is kept")
			assert.EqualValues(t, earlier, at)
			credits, _ := promSum(fams, "serpstat_export_credits", method)
			assert.EqualValues(t, srv.Stats().CreditsBilled, credits, "what the API billed")
			rows, _ := promSum(fams, "serpstat_export_rows", method)
			assert.EqualValues(t, committedCSVRows(t, dir), rows, "the rows the committed outputs hold, not those kept in a spool")
			if tc.status != "" {
				n, _ := promSum(fams, "serpstat_export_queries", map[string]string{"status": tc.status})
				assert.EqualValues(t, 1, n, tc.status)
			}
		})
	}
}

// committedCSVRows counts the data rows of the CSV files in dir (the
// committed outputs; spools and temporary files are hidden or elsewhere).
func committedCSVRows(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	require.NoError(t, err)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		require.NoError(t, err, f)
		if len(recs) > 0 {
			n += len(recs) - 1 // the header
		}
	}
	return n
}

// gatewayRecorder is an HTTP server that records what is pushed to it.
type gatewayRecorder struct {
	mu     sync.Mutex
	pushes []recordedPush
}

type recordedPush struct {
	method, path string
	body         []byte
}

func (g *gatewayRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.pushes = append(g.pushes, recordedPush{r.Method, r.URL.EscapedPath(), body})
	g.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (g *gatewayRecorder) all() []recordedPush {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]recordedPush(nil), g.pushes...)
}

// TestMetricsPushThroughTheBinary: --metrics-push sends the figures of a
// success with PUT, and of a failure with POST (which keeps the last
// success's time on the gateway), to /metrics/job/serpstat_export/instance/NAME.
func TestMetricsPushThroughTheBinary(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500})
	defer srv.Close()
	rec := &gatewayRecorder{}
	gw := httptest.NewServer(rec)
	defer gw.Close()
	dir := t.TempDir()
	args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--query", "a.example", "--query", "b.example",
		"--out", filepath.Join(dir, "{query}.ndjson"), "--state-dir", filepath.Join(dir, "state"),
		"--metrics-push", gw.URL, "--metrics-instance", "nightly-backlinks"}
	res := runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 0, res.code, res.stderr)
	require.Len(t, rec.all(), 1)
	requireFigures(t, promFamilies(t, rec.all()[0].body), srv, 5000, map[string]string{"method": "new-backlinks"})
	res = runCLI(t, serpstattest.DefaultToken, append(args, "--budget", "1", "--restart")...)
	require.Equal(t, 3, res.code, res.stderr)

	pushes := rec.all()
	require.Len(t, pushes, 2)
	assert.Equal(t, http.MethodPut, pushes[0].method)
	assert.Equal(t, http.MethodPost, pushes[1].method)
	for _, p := range pushes {
		assert.Equal(t, "/metrics/job/serpstat_export/instance/nightly-backlinks", p.path)
	}
	fams := promFamilies(t, pushes[0].body)
	assert.Contains(t, fams, "serpstat_export_last_success_timestamp_seconds")
	assert.NotContains(t, promFamilies(t, pushes[1].body), "serpstat_export_last_success_timestamp_seconds")
}

// TestMetricsPushToARealPushgateway: the figures pushed to a real
// Pushgateway read back from it are the run's. .ci/run starts Debian's
// prometheus-pushgateway and sets SERPSTAT_TEST_PUSHGATEWAY_URL; under CI
// the test must run.
func TestMetricsPushToARealPushgateway(t *testing.T) {
	gw := os.Getenv("SERPSTAT_TEST_PUSHGATEWAY_URL")
	if gw == "" {
		if ci := os.Getenv("CI"); ci == "1" || ci == "true" {
			t.Fatal("CI is set but SERPSTAT_TEST_PUSHGATEWAY_URL is not: .ci/run starts a Pushgateway for this test")
		}
		t.Skip("set SERPSTAT_TEST_PUSHGATEWAY_URL=http://HOST:PORT of a Pushgateway to run; .ci/run starts one")
	}
	gw = strings.TrimSuffix(gw, "/")
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(q string) int { return 1500 + 100*len(q) }})
	defer srv.Close()
	dir := t.TempDir()
	instance := fmt.Sprintf("test-%d", time.Now().UnixNano())
	group := gw + "/metrics/job/serpstat_export/instance/" + instance
	defer func() {
		if req, err := http.NewRequest(http.MethodDelete, group, nil); err == nil {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000",
		"--query", "a.example", "--query", "bb.example", "--out", filepath.Join(dir, "{query}.csv"),
		"--state-dir", filepath.Join(dir, "state"), "--metrics-push", gw, "--metrics-instance", instance)
	require.Equal(t, 0, res.code, res.stderr)
	rows := len(readCSV(t, filepath.Join(dir, "a.example.csv"))) + len(readCSV(t, filepath.Join(dir, "bb.example.csv")))

	resp, err := http.Get(gw + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	fams := promFamilies(t, data)
	ours := map[string]string{"job": "serpstat_export", "instance": instance, "method": "new-backlinks"}
	requireFigures(t, fams, srv, rows, ours)
	done, _ := promSum(fams, "serpstat_export_queries", map[string]string{"instance": instance, "status": "done"})
	assert.EqualValues(t, 2, done)
	_, ok := promSum(fams, "serpstat_export_last_success_timestamp_seconds", ours)
	assert.True(t, ok)
}

// TestMetricsSettingsAreCheckedBeforeAnyCredit: a metrics setting the end
// of the run could not honour exits 2, naming it, before any request.
func TestMetricsSettingsAreCheckedBeforeAnyCredit(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--metrics-file", filepath.Join(dir, "missing", "m.prom")}, "--metrics-file " + filepath.Join(dir, "missing", "m.prom") + ": its directory"},
		{[]string{"--metrics-file", dir}, "is a directory"},
		{[]string{"--metrics-file", "s3://bucket/m.prom"}, "want a local file path"},
		{[]string{"--metrics-push", "pushgateway:9091"}, "--metrics-push: want an http:// or https:// URL"},
		{[]string{"--metrics-push", "http://ops:s3cret@gw:9091/metrics/job/x"}, "--metrics-push: want the Pushgateway's base URL"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: 100})
			defer srv.Close()
			args := append([]string{"export", "--endpoint", srv.URL, "--query", "a.example", "--out", filepath.Join(dir, "a.csv")}, tc.args...)
			res := runCLI(t, serpstattest.DefaultToken, args...)
			require.Equal(t, 2, res.code, res.stderr)
			assert.Contains(t, res.stderr, tc.want)
			assert.NotContains(t, res.stderr, "s3cret")
			assert.Zero(t, srv.Stats().Requests, "nothing sent")
		})
	}
}

// TestMetricsFailureIsAWarningUnlessStrict: a Pushgateway that is down is a
// warning (exit 0, the outputs committed); with --metrics-strict, exit 1.
func TestMetricsFailureIsAWarningUnlessStrict(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 500})
	defer srv.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	dir := t.TempDir()
	args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--query", "a.example", "--out", filepath.Join(dir, "a.csv"),
		"--metrics-push", down.URL, "--summary-json", filepath.Join(dir, "summary.json")}
	res := runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "could not push the metrics")
	require.Len(t, readCSV(t, filepath.Join(dir, "a.csv")), 500)

	res = runCLI(t, serpstattest.DefaultToken, append(args, "--metrics-strict")...)
	require.Equal(t, 1, res.code, res.stderr)
	assert.Contains(t, res.stderr, "--metrics-strict")
	summary, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	require.NoError(t, err)
	assert.Contains(t, string(summary), `"exit_code": 1`)
}
