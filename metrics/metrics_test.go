package metrics

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// aRun is a run of two queries, one failed.
func aRun(success bool) *Run {
	r := &Run{
		Method: "new-backlinks", Rows: 6000, Credits: 6012, Requests: 8, Retries: 1,
		Duration: 2500 * time.Millisecond, ExitCode: 1,
		Queries: map[string]int{"done": 1, "failed": 1},
	}
	if success {
		r.ExitCode, r.LastSuccess = 0, time.Unix(1796515200, 500_000_000)
		r.Queries = map[string]int{"done": 2}
	}
	return r
}

// parse reads the text format.
func parse(t *testing.T, data []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(data))
	require.NoError(t, err, "%s", data)
	return fams
}

// value is the value of name's series with labels (all of them given).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mf := fams[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range labels {
			match = match && got[k] == v
		}
		if match {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func TestWriteTextMatchesGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		success bool
	}{{"success", true}, {"failure", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, aRun(tc.success).WriteText(&buf))
			golden := filepath.Join("testdata", tc.name+".prom")
			if *update {
				require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(want), buf.String())
		})
	}
}

func TestEveryMetricHasTheMethodLabel(t *testing.T) {
	fams := parse(t, func() []byte {
		var buf bytes.Buffer
		require.NoError(t, aRun(true).WriteText(&buf))
		return buf.Bytes()
	}())
	for _, name := range []string{Rows, Credits, Requests, Retries, Duration, ExitCode, LastSuccess, Queries} {
		require.Contains(t, fams, name)
		require.Equal(t, dto.MetricType_GAUGE, fams[name].GetType(), name)
		for _, m := range fams[name].GetMetric() {
			require.Equal(t, "method", m.GetLabel()[0].GetName(), name)
			require.Equal(t, "new-backlinks", m.GetLabel()[0].GetValue(), name)
		}
	}
}

func TestLastSuccessOnlyWhenTheRunSucceeded(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, aRun(false).WriteText(&buf))
	require.NotContains(t, parse(t, buf.Bytes()), LastSuccess)
}

func TestWriteFileReplacesAtomicallyAndKeepsTheLastSuccess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "serpstat_export.prom")

	// A failed first run: no success to keep.
	require.NoError(t, WriteFile(path, aRun(false)))
	fams := parse(t, must(os.ReadFile(path)))
	require.NotContains(t, fams, LastSuccess)

	// A success, then a failure: the failure keeps the success's time
	// and says its own figures.
	require.NoError(t, WriteFile(path, aRun(true)))
	require.NoError(t, WriteFile(path, aRun(false)))
	fams = parse(t, must(os.ReadFile(path)))
	at, ok := value(t, fams, LastSuccess, map[string]string{"method": "new-backlinks"})
	require.True(t, ok)
	require.Equal(t, 1796515200.5, at)
	code, _ := value(t, fams, ExitCode, nil)
	require.Equal(t, 1.0, code)
	failed, _ := value(t, fams, Queries, map[string]string{"status": "failed"})
	require.Equal(t, 1.0, failed)

	// Nothing but the file is left in the directory, readable by the
	// collector's user.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	info, err := os.Stat(path)
	require.NoError(t, err)
	if os.PathSeparator == '/' {
		require.Equal(t, os.FileMode(0o644), info.Mode().Perm())
	}
}

func TestWriteFileOverAnUnreadableFileWritesItsOwn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.prom")
	require.NoError(t, os.WriteFile(path, []byte("this is { not the text format\n"), 0o644))
	require.NoError(t, WriteFile(path, aRun(false)))
	fams := parse(t, must(os.ReadFile(path)))
	require.NotContains(t, fams, LastSuccess)
	require.Contains(t, fams, Rows)
}

func TestWriteFileIntoAMissingDirectoryFails(t *testing.T) {
	err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "m.prom"), aRun(true))
	require.Error(t, err)
}

// pushed is a request a fake Pushgateway recorded.
type pushed struct {
	Method, Path, User, Pass, ContentType string
	Body                                  []byte
}

// fakeGateway records the pushes it is sent and answers status.
func fakeGateway(t *testing.T, status int) (*httptest.Server, func() []pushed) {
	var mu sync.Mutex
	var got []pushed
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		mu.Lock()
		got = append(got, pushed{r.Method, r.URL.EscapedPath(), user, pass, r.Header.Get("Content-Type"), body})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []pushed {
		mu.Lock()
		defer mu.Unlock()
		return append([]pushed(nil), got...)
	}
}

func TestPushSendsTheFiguresUnderTheJobAndInstance(t *testing.T) {
	srv, got := fakeGateway(t, http.StatusOK)
	g := &Gateway{URL: srv.URL + "/", Instance: "nightly-backlinks"}
	require.NoError(t, g.Push(context.Background(), aRun(true)))
	require.NoError(t, g.Push(context.Background(), aRun(false)))

	reqs := got()
	require.Len(t, reqs, 2)
	for i, want := range []string{http.MethodPut, http.MethodPost} {
		r := reqs[i]
		// A success replaces the group; a failure only its own metrics,
		// keeping the last success's time.
		require.Equal(t, want, r.Method)
		require.Equal(t, "/metrics/job/serpstat_export/instance/nightly-backlinks", r.Path)
		require.True(t, strings.HasPrefix(r.ContentType, "text/plain"), r.ContentType)
	}
	success := parse(t, reqs[0].Body)
	rows, _ := value(t, success, Rows, map[string]string{"method": "new-backlinks"})
	credits, _ := value(t, success, Credits, map[string]string{"method": "new-backlinks"})
	require.Equal(t, 6000.0, rows)
	require.Equal(t, 6012.0, credits)
	require.Contains(t, success, LastSuccess)
	failure := parse(t, reqs[1].Body)
	require.NotContains(t, failure, LastSuccess)
	code, _ := value(t, failure, ExitCode, nil)
	require.Equal(t, 1.0, code)
}

func TestPushInstanceWithASlashIsEncoded(t *testing.T) {
	srv, got := fakeGateway(t, http.StatusOK)
	g := &Gateway{URL: srv.URL, Instance: "team/nightly"}
	require.NoError(t, g.Push(context.Background(), aRun(true)))
	require.Equal(t, "/metrics/job/serpstat_export/instance@base64/dGVhbS9uaWdodGx5", got()[0].Path)
}

func TestPushCredentialsGoAsBasicAuthAndNeverInErrors(t *testing.T) {
	srv, got := fakeGateway(t, http.StatusOK)
	withCreds := strings.Replace(srv.URL, "http://", "http://ops:s3cret@", 1)
	g := &Gateway{URL: withCreds, Instance: "i"}
	require.NoError(t, g.Push(context.Background(), aRun(true)))
	require.Equal(t, "ops", got()[0].User)
	require.Equal(t, "s3cret", got()[0].Pass)

	refusing, _ := fakeGateway(t, http.StatusBadRequest)
	g.URL = strings.Replace(refusing.URL, "http://", "http://ops:s3cret@", 1)
	err := g.Push(context.Background(), aRun(true))
	require.Error(t, err)
	require.Contains(t, err.Error(), "400")
	require.NotContains(t, err.Error(), "s3cret")
}

func TestPushToAGatewayThatIsDownFails(t *testing.T) {
	srv, _ := fakeGateway(t, http.StatusOK)
	url := srv.URL
	srv.Close()
	require.Error(t, (&Gateway{URL: url, Instance: "i"}).Push(context.Background(), aRun(true)))
}

func TestSplitCredentials(t *testing.T) {
	for _, tc := range []struct {
		in, base, user, err string
	}{
		{in: "http://gw:9091", base: "http://gw:9091"},
		{in: "https://ops:pw@gw.example/prefix", base: "https://gw.example/prefix", user: "ops"},
		{in: "gw:9091", err: "http:// or https://"},
		{in: "ftp://gw", err: "http:// or https://"},
		{in: "http://", err: "with a host"},
		{in: "http://gw:9091/metrics/job/x", err: "without /metrics/job/"},
		{in: "http://ops:pw@gw:badport", err: "not a URL"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			base, user, err := SplitCredentials(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.NotContains(t, err.Error(), "pw")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.base, base)
			if tc.user == "" {
				require.Nil(t, user)
			} else {
				require.Equal(t, tc.user, user.Username())
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
