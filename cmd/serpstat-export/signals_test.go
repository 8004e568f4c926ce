package main_test

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// waitExit waits for p to end; the limit only guards against a hang (a
// stopped run that does not end is the failure these tests look for).
func waitExit(t *testing.T, p *proc, limit time.Duration) result {
	t.Helper()
	select {
	case <-p.done:
		return p.res
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("the run had not ended %v after the signal: %s", limit, p.res.stderr)
	}
	return result{}
}

// stallingS3 is an S3-compatible endpoint that answers the probes of a
// run (small objects written and deleted) and never answers the upload of
// an object named stall: a stalled object store.
func stallingS3(t *testing.T, stall string) (url string, stalled *atomic.Int32) {
	stalled = &atomic.Int32{}
	var objects sync.Map // the paths written, empty objects
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, stored := objects.Load(r.URL.Path)
		switch {
		case strings.HasSuffix(r.URL.Path, "/"+stall) && (r.Method == http.MethodPut || r.Method == http.MethodPost):
			stalled.Add(1)
			select { // never answers; ends when the client goes away
			case <-r.Context().Done():
			case <-quit:
			}
		case r.Method == http.MethodPut:
			objects.Store(r.URL.Path, true)
			w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
		case r.Method == http.MethodDelete:
			objects.Delete(r.URL.Path)
			w.WriteHeader(http.StatusNoContent)
		case stored && (r.Method == http.MethodHead || r.Method == http.MethodGet):
			w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
			w.Header().Set("Content-Length", "0")
			w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		default:
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>no</Message></Error>`))
		}
	}))
	t.Cleanup(func() {
		close(quit)
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL, stalled
}

// TestSIGTERMWhileAnUploadHangsExits130AfterTheGrace: the object store
// never answers the upload of the output; SIGTERM with --stop-grace 1s
// cancels it after the grace and the run ends, exit 130, logged at WARN
// and saying what happened; no page is requested after the signal, and a
// rerun pays for none again.
func TestSIGTERMWhileAnUploadHangsExits130AfterTheGrace(t *testing.T) {
	s3url, stalled := stallingS3(t, "out.csv")
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 5000})
	defer srv.Close()
	dir := t.TempDir()
	env := []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}
	args := exportArgs(srv, "stall.example", "--out", "s3://lake/out.csv", "--s3-endpoint", s3url, "--s3-path-style", "--stop-grace", "1s", "--progress", "never")
	p := startCLI(t, serpstattest.DefaultToken, dir, env, args...)
	waitFor(t, "the upload to stall", func() bool {
		select {
		case <-p.done:
			t.Fatalf("the run ended before its upload stalled: exit %d: %s", p.res.code, p.res.stderr)
		default:
		}
		return stalled.Load() > 0
	})
	before := srv.Stats().Requests
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	res := waitExit(t, p, 15*time.Second)
	require.Equal(t, 130, res.code, res.stderr)
	assert.Equal(t, before, srv.Stats().Requests, "nothing requested after the signal")
	assert.EqualValues(t, 5000, srv.Stats().CreditsBilled)
	assert.Contains(t, res.stderr, "level=WARN msg=\"interrupted by SIGTERM")
	assert.Contains(t, res.stderr, "--stop-grace passed: cancelling the uploads")
	assert.Contains(t, res.stderr, "interrupted")
	assert.NotContains(t, res.stderr, "level=ERROR")
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSIGTERMStopsBuyingAtOnce: once the run has taken SIGTERM in (it
// logs it), no new page is requested: the requests the fake sees after
// that are at most the 2 in flight.
func TestSIGTERMStopsBuyingAtOnce(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 40000, Latency: 100 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	cmd := exec.Command(binary, append(exportArgs(srv, "term.example", "--progress", "never"), "--workers", "2", "--out", filepath.Join(dir, "t.csv"))...)
	cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	waitFor(t, "a few pages", func() bool { return srv.Stats().Requests >= 3 })
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	waitFor(t, "the stop to be taken in", func() bool { return strings.Contains(stderr.String(), "interrupted by SIGTERM") })
	at := srv.Stats().Requests
	var err error
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("the run had not ended 15s after SIGTERM: %s", stderr.String())
	}
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, stderr.String())
	require.Equal(t, 130, ee.ExitCode(), stderr.String())
	assert.LessOrEqual(t, srv.Stats().Requests, at+2, "at most the 2 requests in flight")
	assert.Less(t, srv.Stats().Requests, 40)
	assert.NotContains(t, stderr.String(), "level=ERROR")
}

// TestSIGTERMDuringSlicingProbesSaysInterrupted: a stop while the slices
// past the wall are probed says interrupted, not that rows were out of
// reach.
func TestSIGTERMDuringSlicingProbesSaysInterrupted(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 200000, Latency: 30 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	p := startCLI(t, serpstattest.DefaultToken, dir, nil, "export", "--endpoint", srv.URL, "--query", "probe.example", "--rps", "20",
		"--progress", "never", "--out", filepath.Join(dir, "p.csv"))
	waitFor(t, "a probe", func() bool {
		for _, e := range srv.Log() {
			if e.Params.Size == 1 {
				return true
			}
		}
		return false
	})
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	res := waitExit(t, p, 15*time.Second)
	require.Equal(t, 130, res.code, res.stderr)
	assert.Contains(t, res.stderr, "interrupted")
	assert.NotContains(t, res.stderr, "out of reach")
}

// TestClosedPipeIsACleanStop: export --out - | head -3 stops buying at
// once and exits 141; the next export of the same query to stdout with
// other settings is not blocked by what it left.
func TestClosedPipeIsACleanStop(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 25000, Latency: 20 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	cmd := exec.Command(binary, exportArgs(srv, "pipe.example", "--out", "-", "--workers", "2", "--progress", "never")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for range 3 { // head -3
		require.True(t, sc.Scan())
	}
	require.NoError(t, out.Close())
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, stderr.String())
	require.Equal(t, 141, ee.ExitCode(), stderr.String())
	assert.Contains(t, stderr.String(), "stdout was closed by its reader")
	assert.NotContains(t, stderr.String(), "level=ERROR")
	first := srv.Stats().Requests
	assert.LessOrEqual(t, first, 6, "stopped within a few pages: page 1 and the window in flight")

	res := runCLIIn(t, serpstattest.DefaultToken, dir, exportArgs(srv, "pipe.example", "--out", "-", "--max-rows", "100", "--progress", "never")...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, 100, strings.Count(res.stdout, "\n"))

	// The first export's pages are kept under its own name: the same
	// command again reads them back instead of paying again.
	billed := srv.Stats().CreditsBilled
	res = runCLIIn(t, serpstattest.DefaultToken, dir, exportArgs(srv, "pipe.example", "--out", "-", "--workers", "2", "--progress", "never")...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, 25000, strings.Count(res.stdout, "\n"))
	assert.EqualValues(t, 25000, srv.Stats().CreditsBilled-billed+int64(first)*1000, "the pages kept were not bought again")
}

// TestDamagedCreditsRecordIsRepairedNotForgotten: a damaged credits.json
// is refused (exit 2) naming where it is and --repair-spool, nothing
// sent; the repair keeps the spend, so --budget still counts it.
func TestDamagedCreditsRecordIsRepairedNotForgotten(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 6000, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Params.Page == 4 {
			return serpstattest.Fault{Kind: serpstattest.FaultUnexpected}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "d.csv")
	args := exportArgs(srv, "damaged.example", "--out", out, "--workers", "1", "--progress", "never")
	res := runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 1, res.code, res.stderr)
	spent := srv.Stats().CreditsBilled
	require.GreaterOrEqual(t, spent, int64(4000))
	credits := filepath.Join(dir, ".d.csv.spool", "credits.json")
	require.NoError(t, os.WriteFile(credits, []byte(`{"spent":3`), 0o644))

	res = runCLI(t, serpstattest.DefaultToken, append(args, "--budget", "3000")...)
	require.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, credits)
	assert.Contains(t, res.stderr, "--repair-spool")
	assert.NotContains(t, res.stderr, "delete it")
	assert.Equal(t, spent, srv.Stats().CreditsBilled, "nothing sent")

	res = runCLI(t, serpstattest.DefaultToken, append(args, "--budget", "3000", "--repair-spool")...)
	require.Equal(t, 3, res.code, res.stderr)
	assert.Contains(t, res.stderr, "rebuilt the spool's journal")
	assert.Equal(t, spent, srv.Stats().CreditsBilled, "the spend was remembered: nothing more under --budget 3000")
	kept, err := os.ReadFile(credits + ".damaged")
	require.NoError(t, err)
	assert.Equal(t, `{"spent":3`, string(kept))
}
