package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// refusing is a fake that answers error 32117 to every request for the
// refused query, on every try, and rows rows a query to the others.
func refusing(refused string, rows func(string) int) *serpstattest.Server {
	return serpstattest.NewServer(serpstattest.Options{RowsFor: rows, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Params.Query == refused {
			return serpstattest.Fault{Kind: serpstattest.FaultAPIError, Code: serpstattest.CodeFilter, Message: "Invalid value for field query"}
		}
		return serpstattest.Fault{}
	}})
}

// readRecord reads the one run record under state.
func readRecord(t *testing.T, state string) runRecord {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(state, "run-*.json"))
	require.NoError(t, err)
	require.Len(t, names, 1, "one run record")
	data, err := os.ReadFile(names[0])
	require.NoError(t, err)
	var rec runRecord
	require.NoError(t, json.Unmarshal(data, &rec))
	return rec
}

// The scheduler's retry: five domains, one refused on every try. The
// first run exports four, fails the fifth (exit 1 in the command) and
// records each; the same run again buys nothing for the four (reused),
// writes none of their rows again, and fails the fifth again; the
// summary's credits in all are what the API billed.
func TestRunRecordReusesDoneQueriesAndRetriesTheOthers(t *testing.T) {
	domains := []string{"a.example", "b.example", "bad.example", "c.example", "d.example"}
	srv := refusing("bad.example", func(string) int { return 1500 })
	defer srv.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	s := Settings{StateDir: state, Queries: domains, ManyQueries: true, Out: []string{filepath.Join(dir, "dt={date}", "{query}", "part-{part}.csv")}, MaxRowsPerFile: 1000}

	res, err := newRun(t, srv, s, 0).Export(context.Background())
	var qf *QueriesFailed
	require.ErrorAs(t, err, &qf)
	require.EqualValues(t, 6000, srv.Stats().CreditsBilled, "four good domains")
	rec := readRecord(t, state)
	require.Equal(t, "2026-01-31", rec.Date)
	for _, d := range domains {
		want := StatusDone
		if d == "bad.example" {
			want = StatusFailed
		}
		require.Equal(t, want, rec.Queries[d].Status, d)
	}
	require.EqualValues(t, 1500, rec.Queries["a.example"].Credits)
	require.Len(t, rec.Queries["a.example"].Files, 2)
	sum := NewSummary("run1", "export", "failed", 1, res, err, time.Second)
	require.EqualValues(t, 6000, sum.CreditsBilledInAll)
	require.Equal(t, 0, sum.QueriesReused)
	require.Equal(t, filepath.Join(state, filepath.Base(sum.RunRecord)), sum.RunRecord)

	r := newRun(t, srv, Settings{RunID: "run2", StateDir: state, Queries: domains, ManyQueries: true, Out: s.Out, MaxRowsPerFile: 1000}, 0)
	res, err = r.Export(context.Background())
	require.ErrorAs(t, err, &qf, "the refused query fails again")
	require.EqualValues(t, 6000, srv.Stats().CreditsBilled, "nothing bought again")
	sum = NewSummary("run2", "export", "failed", 1, res, err, time.Second)
	require.Equal(t, 4, sum.QueriesReused)
	require.EqualValues(t, 0, sum.CreditsBilled)
	require.EqualValues(t, 6000, sum.CreditsBilledInAll, "every attempt's credits")
	for _, q := range sum.Queries {
		require.Equal(t, q.Query != "bad.example", q.Reused, q.Query)
		if q.Reused {
			require.EqualValues(t, 1500, q.CreditsBilledInAll, q.Query)
			require.Equal(t, StatusDone, q.Status)
		} else {
			require.Equal(t, StatusFailed, q.Status)
		}
	}
	for _, o := range sum.Outputs {
		require.Equal(t, "run1", o.Run, "reused files keep the run that wrote them")
	}
	m := readManifest(t, filepath.Join(dir, "dt=2026-01-31", "_manifest.json"))
	require.Equal(t, "run2", m.RunID)
	require.EqualValues(t, 6000, m.CreditsBilled)
	require.EqualValues(t, 0, m.CreditsThisAttempt)
	require.Len(t, m.Files, 8, "two parts of each good domain, once")
	for _, q := range m.Queries {
		if q.Query == "bad.example" {
			require.Equal(t, "run2", q.Run)
			require.Equal(t, StatusFailed, q.Status)
			continue
		}
		require.Equal(t, "run1", q.Run, q.Query)
		require.True(t, q.Reused, q.Query)
	}
	// Every row once.
	for _, d := range []string{"a.example", "b.example", "c.example", "d.example"} {
		parts, _ := filepath.Glob(filepath.Join(dir, "dt=2026-01-31", d, "*.csv"))
		require.Len(t, parts, 2, d)
		require.EqualValues(t, 1500, countRows(t, parts[0])+countRows(t, parts[1]), d)
	}
}

// --fresh starts over on purpose: every query is bought again, the
// files the first run left that the new ones do not replace are removed
// (no row twice), and the manifest lists only the new ones.
func TestFreshExportsAgainAndRemovesTheOldFiles(t *testing.T) {
	g := &growing{rows: map[string]int{"a.example": 1500, "b.example": 800}}
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: g.rowsFor})
	defer srv.Close()
	dir := t.TempDir()
	s := Settings{StateDir: filepath.Join(dir, "state"), Queries: []string{"a.example", "b.example"}, ManyQueries: true,
		Out: []string{filepath.Join(dir, "{query}", "part-{part}.csv")}, MaxRowsPerFile: 1000}
	_, err := newRun(t, srv, s, 0).Export(context.Background())
	require.NoError(t, err)
	g.grow("a.example", 700)

	s.RunID, s.Fresh = "run2", true
	res, err := newRun(t, srv, s, 0).Export(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 1500+800+2200+800, srv.Stats().CreditsBilled, "both bought again")
	sum := NewSummary("run2", "export", "done", 0, res, nil, time.Second)
	require.True(t, sum.Fresh)
	require.Equal(t, 0, sum.QueriesReused)
	var onDisk []string
	for _, q := range []string{"a.example", "b.example"} {
		parts, _ := filepath.Glob(filepath.Join(dir, q, "*.csv"))
		var n int64
		for _, p := range parts {
			n += countRows(t, p)
			onDisk = append(onDisk, p)
		}
		require.EqualValues(t, g.rowsFor(q), n, "%s: every row once", q)
	}
	m := readManifest(t, filepath.Join(dir, "_manifest.json"))
	var listed []string
	for _, f := range m.Files {
		require.Equal(t, "run2", f.Run)
		listed = append(listed, f.Path)
	}
	sort.Strings(onDisk)
	sort.Strings(listed)
	require.Equal(t, onDisk, listed, "the manifest lists what is there, and only that")
	require.Equal(t, StatusDone, readRecord(t, s.StateDir).Queries["a.example"].Status)
	require.Equal(t, []string{"run2"}, readRecord(t, s.StateDir).Queries["a.example"].Runs, "a fresh record")
}

// A damaged run record stops the run before anything is sent (exit 2),
// naming where it lives and --fresh; --fresh keeps a .damaged copy and
// starts over.
func TestDamagedRunRecord(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10})
	defer srv.Close()
	dir := t.TempDir()
	s := Settings{StateDir: filepath.Join(dir, "state"), Queries: []string{"a.example", "b.example"}, ManyQueries: true,
		Out: []string{filepath.Join(dir, "{query}.csv")}}
	_, err := newRun(t, srv, s, 0).Export(context.Background())
	require.NoError(t, err)
	names, _ := filepath.Glob(filepath.Join(s.StateDir, "run-*.json"))
	require.Len(t, names, 1)
	require.NoError(t, os.WriteFile(names[0], []byte(`{"version":2,"queries":{"a.exa`), 0o644))
	before := srv.Stats().Requests

	_, err = newRun(t, srv, s, 0).Export(context.Background())
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	require.Contains(t, err.Error(), names[0]+" is damaged")
	require.Contains(t, err.Error(), "--fresh")
	require.NotContains(t, err.Error(), "delete")
	require.Equal(t, before, srv.Stats().Requests, "nothing sent")

	s.Fresh = true
	_, err = newRun(t, srv, s, 0).Export(context.Background())
	require.NoError(t, err)
	kept, err := os.ReadFile(names[0] + ".damaged")
	require.NoError(t, err)
	require.Equal(t, `{"version":2,"queries":{"a.exa`, string(kept))
	require.Equal(t, StatusDone, readRecord(t, s.StateDir).Queries["b.example"].Status)
}

// The record's name changes with what decides the outputs, the date
// included, and not with the list of queries.
func TestRecordKeyCoversTheCommandAndTheDate(t *testing.T) {
	p := serpstat.Params{SearchType: serpstat.SearchDomain, Size: 1000}
	base := Settings{Out: []string{"o/{query}.csv"}, Queries: []string{"a.com"}}
	key := func(s Settings, p serpstat.Params, date string) string {
		k, _ := RecordKey(s, backlinks.NewBacklinks, p, date)
		return k
	}
	k0 := key(base, p, "2026-01-31")
	more := base
	more.Queries = []string{"a.com", "b.com"}
	require.Equal(t, k0, key(more, p, "2026-01-31"), "the queries are not the command")
	withQuery := p
	withQuery.Query = "b.com"
	require.Equal(t, k0, key(base, withQuery, "2026-01-31"))
	require.NotEqual(t, k0, key(base, p, "2026-01-30"), "another date")
	other := base
	other.Out = []string{"o/{query}.parquet"}
	require.NotEqual(t, k0, key(other, p, "2026-01-31"), "other outputs")
	sorted := p
	sorted.Sort = "url_from"
	require.NotEqual(t, k0, key(base, sorted, "2026-01-31"), "another sort")
}

// On object storage: the record lives in the state directory's bucket,
// is read and written under the coordinator's lock run-record:<URL>, and
// a rerun reuses what it says.
func TestRunRecordOnObjectStorage(t *testing.T) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_PROFILE": "", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "", "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket("bucket"))
	s3srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	defer s3srv.Close()
	opts := dest.S3Options{Endpoint: s3srv.URL, PathStyle: true}

	srv := serpstattest.NewServer(serpstattest.Options{Rows: 300})
	defer srv.Close()
	dir := t.TempDir()
	s := Settings{StateDir: "s3://bucket/state", S3: opts, Queries: []string{"a.example", "b.example"}, ManyQueries: true,
		Out: []string{filepath.Join(dir, "{query}.csv")}}
	var mu sync.Mutex
	var locks []string
	lock := func(_ context.Context, name string) error {
		mu.Lock()
		defer mu.Unlock()
		locks = append(locks, name)
		return nil
	}
	r := newRun(t, srv, s, 0)
	r.Lock = lock
	res, err := r.Export(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 600, srv.Stats().CreditsBilled)
	where := NewSummary("run1", "export", "done", 0, res, nil, time.Second).RunRecord
	require.True(t, strings.HasPrefix(where, "s3://bucket/state/run-"), where)
	require.Contains(t, locks, "run-record:"+where)
	data, err := dest.ReadAll(context.Background(), where, opts)
	require.NoError(t, err)
	var rec runRecord
	require.NoError(t, json.Unmarshal(data, &rec))
	require.Equal(t, StatusDone, rec.Queries["a.example"].Status)

	r = newRun(t, srv, s, 0)
	r.Lock = lock
	res, err = r.Export(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 600, srv.Stats().CreditsBilled, "nothing bought again")
	require.Equal(t, 2, NewSummary("run1", "export", "done", 0, res, nil, time.Second).QueriesReused)
}

// An incremental load clears the record once every query is done: its
// cursor state keeps the next run from buying a row again.
func TestIncrementalLoadClearsTheRecordWhenDone(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 50})
	defer srv.Close()
	dir := t.TempDir()
	s := Settings{StateDir: filepath.Join(dir, "state"), Queries: []string{"a.example", "b.example"}, ManyQueries: true,
		Incremental: filepath.Join(dir, "inc.json"), Out: []string{filepath.Join(dir, "{query}", "{run}.csv")}}
	res, err := newRun(t, srv, s, 0).Export(context.Background())
	require.NoError(t, err)
	names, _ := filepath.Glob(filepath.Join(s.StateDir, "run-*.json"))
	require.Empty(t, names)
	require.Empty(t, NewSummary("run1", "export", "done", 0, res, nil, time.Second).RunRecord)
}

// A query the record says is done but one of whose files is gone is
// exported again; the others are reused.
func TestRunRecordDoesNotReuseAQueryWhoseFileIsGone(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 40})
	defer srv.Close()
	dir := t.TempDir()
	s := Settings{StateDir: filepath.Join(dir, "state"), Queries: []string{"a.example", "b.example"}, ManyQueries: true,
		Out: []string{filepath.Join(dir, "{query}.csv")}}
	_, err := newRun(t, srv, s, 0).Export(context.Background())
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, "a.example.csv")))
	res, err := newRun(t, srv, s, 0).Export(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 120, srv.Stats().CreditsBilled, "a bought again, b not")
	require.Nil(t, res.queries[0].Earlier)
	require.NotNil(t, res.queries[1].Earlier)
	require.FileExists(t, filepath.Join(dir, "a.example.csv"))
}

// A query's status says what happened to it.
func TestStatusOf(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want string
	}{
		{context.Background(), nil, StatusDone},
		{context.Background(), fmt.Errorf("page 3: %w", pager.ErrBudgetExhausted), StatusStopped},
		{context.Background(), fmt.Errorf("page 3: %w", pager.ErrInterrupted), StatusInterrupted},
		{canceled, errors.New("write: broken"), StatusInterrupted},
		{context.Background(), &serpstat.Error{Code: 32117, Message: "Invalid value for field query"}, StatusFailed},
	} {
		require.Equal(t, tc.want, StatusOf(tc.ctx, tc.err), "%v", tc.err)
	}
}

// TestCleanPathNamesOneFileOnce: an absolute output and the same file as a
// manifest beside relative outputs reads it back (relative to the working
// directory) compare equal, so an earlier run's parts are found, not
// overwritten or listed twice.
func TestCleanPathNamesOneFileOnce(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	abs := filepath.Join(wd, "data", "x.csv")
	target := filepath.Join("m", "_manifest.json")
	back := fromManifest(target, toManifest(target, abs))
	for _, tc := range []struct{ a, b string }{
		{abs, back},
		{abs, filepath.Join("data", ".", "x.csv")},
		{"s3://b/k/x.csv", "s3://b/k/x.csv"},
	} {
		require.Equal(t, cleanPath(tc.a), cleanPath(tc.b), "%s and %s", tc.a, tc.b)
	}
	require.NotEqual(t, cleanPath(abs), cleanPath(filepath.Join(wd, "data", "y.csv")))
}
