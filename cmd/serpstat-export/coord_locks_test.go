package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// Locks on object storage by what they protect: the state dir by its own
// name, an output URL whatever the query. Two runs against a real
// redis-server and a real S3 server (versitygw in CI).

// hold holds the fake's answers to the requests it matches until opened:
// a run held mid-run, with nothing timed.
type hold struct {
	once sync.Once
	ch   chan struct{}
	n    atomic.Int32 // requests held
}

// newHold is a closed hold. Open it before the fake closes (defer it
// after the fake's Close): the fake's Close waits for the handlers it
// holds.
func newHold() *hold { return &hold{ch: make(chan struct{})} }

func (g *hold) open() { g.once.Do(func() { close(g.ch) }) }

// fault is a serpstattest Fault that holds page >= from of query until
// it opens.
func (g *hold) fault(query string, from int) func(serpstattest.FaultInfo) serpstattest.Fault {
	return func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Params.Query == query && fi.Params.Page >= from {
			g.n.Add(1)
			<-g.ch
		}
		return serpstattest.Fault{}
	}
}

// readS3CSV reads the CSV object at target through a local copy.
func readS3CSV(t *testing.T, target string, opts dest.S3Options) []serpstattest.Backlink {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data, err := dest.ReadAll(ctx, target, opts)
	require.NoError(t, err, target)
	p := filepath.Join(t.TempDir(), "copy.csv")
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return readCSV(t, p)
}

func TestCoordinatorLocksAStateDirOnS3WhateverTheOutputs(t *testing.T) {
	endpoint, bucket := s3Bucket(t)
	url := redisURL(t)
	token := uniqueToken(t)
	g := newHold()
	const rows = 2000
	srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: rows, Fault: g.fault("held.example", 5)})
	defer srv.Close()
	defer g.open()
	// One state dir, spelled two ways: a trailing slash does not make it
	// another place.
	state := fmt.Sprintf("s3://%s/state-%d", bucket, time.Now().UnixNano())
	dir := t.TempDir()
	args := func(out, stateDir string) []string {
		return []string{"export", "--endpoint", srv.URL, "--query", "held.example", "--rps", "100", "--workers", "2",
			"--size", "100", "--out", filepath.Join(dir, out), "--state-dir", stateDir, "--s3-endpoint", endpoint,
			"--s3-path-style", "--coordinator", url, "--progress", "never"}
	}
	first := startCLI(t, token, dir, nil, args("first.csv", state)...)
	// Its two workers wait for the answers to pages 5 and 6.
	waitFor(t, "the first run held mid-run", func() bool { return g.n.Load() == 2 })
	before := srv.Stats().Requests

	// Another output, another working directory: the same state dir.
	second := runCLIIn(t, token, t.TempDir(), args("second.csv", state+"/")...)
	require.Equal(t, 2, second.code, second.stderr)
	t.Logf("the second run: %s", second.stderr)
	assert.Contains(t, second.stderr, "is using the state dir "+state)
	assert.Contains(t, second.stderr, "wait for that run to end")
	assert.Equal(t, before, srv.Stats().Requests, "the refused run sent nothing")

	g.open()
	res := first.wait(t)
	require.Equal(t, 0, res.code, res.stderr)
	requireRows(t, asCSV(apiRows(srv, "held.example", rows)), readCSV(t, filepath.Join(dir, "first.csv")), "rows")
	st := srv.Stats()
	assert.EqualValues(t, rows, st.CreditsBilled, "credits billed in all = rows exported")
	for k, n := range st.PagesBilled {
		assert.Equal(t, 1, n, "page %+v billed once", k)
	}
	_, err := os.Stat(filepath.Join(dir, "second.csv"))
	assert.True(t, os.IsNotExist(err), "the refused run wrote nothing")
}

func TestCoordinatorLocksAnOutputURLWhateverTheQuery(t *testing.T) {
	endpoint, bucket := s3Bucket(t)
	url := redisURL(t)
	token := uniqueToken(t)
	g := newHold()
	const rows = 1500
	srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: rows, Fault: g.fault("x1.example", 4)})
	defer srv.Close()
	defer g.open()
	out := fmt.Sprintf("s3://%s/t5-%d/out.csv", bucket, time.Now().UnixNano())
	opts := dest.S3Options{Endpoint: endpoint, PathStyle: true}
	args := func(query string) []string {
		return []string{"export", "--endpoint", srv.URL, "--query", query, "--rps", "100", "--workers", "2",
			"--size", "100", "--out", out, "--s3-endpoint", endpoint, "--s3-path-style",
			"--coordinator", url, "--progress", "never"}
	}
	first := startCLI(t, token, t.TempDir(), nil, args("x1.example")...)
	waitFor(t, "the first run held mid-run", func() bool { return g.n.Load() == 2 })
	before := srv.Stats().Requests

	second := runCLIIn(t, token, t.TempDir(), args("x2.example")...)
	require.Equal(t, 2, second.code, second.stderr)
	t.Logf("the second run: %s", second.stderr)
	assert.Contains(t, second.stderr, "--out "+out)
	assert.Contains(t, second.stderr, "another run (")
	assert.Contains(t, second.stderr, "wait for that run to end")
	assert.Equal(t, before, srv.Stats().Requests, "the refused run sent nothing")

	g.open()
	res := first.wait(t)
	require.Equal(t, 0, res.code, res.stderr)
	requireRows(t, asCSV(apiRows(srv, "x1.example", rows)), readS3CSV(t, out, opts), "x1's rows")
	assert.EqualValues(t, rows, srv.Stats().CreditsBilled, "the refused run spent nothing")

	// Once the first has ended, the refused one runs.
	res = runCLIIn(t, token, t.TempDir(), args("x2.example")...)
	require.Equal(t, 0, res.code, res.stderr)
	requireRows(t, asCSV(apiRows(srv, "x2.example", rows)), readS3CSV(t, out, opts), "x2's rows")
	assert.EqualValues(t, 2*rows, srv.Stats().CreditsBilled)
}

func TestCoordinatorLocksAreSharedByTheQueriesOfOneRun(t *testing.T) {
	endpoint, bucket := s3Bucket(t)
	url := redisURL(t)
	token := uniqueToken(t)
	const rows = 700
	srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: rows})
	defer srv.Close()
	prefix := fmt.Sprintf("s3://%s/run-%d", bucket, time.Now().UnixNano())
	queries := []string{"a.example", "b.example", "c.example"}
	args := []string{"export", "--endpoint", srv.URL, "--rps", "100", "--workers", "4", "--size", "100",
		"--out", prefix + "/q={query}/out.csv", "--state-dir", prefix + "/state",
		"--s3-endpoint", endpoint, "--s3-path-style", "--coordinator", url, "--progress", "never"}
	for _, q := range queries {
		args = append(args, "--query", q)
	}
	res := runCLIIn(t, token, t.TempDir(), args...)
	require.Equal(t, 0, res.code, res.stderr)
	opts := dest.S3Options{Endpoint: endpoint, PathStyle: true}
	for _, q := range queries {
		requireRows(t, asCSV(apiRows(srv, q, rows)), readS3CSV(t, prefix+"/q="+q+"/out.csv", opts), q)
	}
	assert.EqualValues(t, len(queries)*rows, srv.Stats().CreditsBilled)
}
