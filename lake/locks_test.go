package lake

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// lockNames are the names of the locks a run of s takes through the
// coordinator, as Export computes them.
func lockNames(t *testing.T, s Settings) []string {
	t.Helper()
	if s.Date == "" {
		s.Date = "2026-01-31"
	}
	if s.RunID == "" {
		s.RunID = "run1"
	}
	multi := len(s.Queries) > 1
	specs, err := parseOuts(s.Out, s.Format, multi, s.MaxRowsPerFile, s.method())
	require.NoError(t, err)
	locks, err := sharedLocks(s, specs, s.Queries, s.Date, s.RunID, manifestTarget(s, specs, s.Queries, multi, s.Date, s.RunID))
	require.NoError(t, err)
	var names []string
	for _, l := range locks {
		names = append(names, l.name)
	}
	return names
}

// stateLock is the state dir's lock among names.
func stateLock(t *testing.T, names []string) string {
	t.Helper()
	for _, n := range names {
		if strings.HasPrefix(n, "state-dir:") {
			return n
		}
	}
	t.Fatalf("no state dir lock in %q", names)
	return ""
}

func TestTheStateDirIsLockedByItsOwnName(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	s3 := dest.S3Options{Endpoint: "http://127.0.0.1:9000", PathStyle: true}
	base := Settings{Queries: []string{"x1.com"}, Out: []string{"/data/one.csv"}, StateDir: "s3://lake/state/nightly", S3: s3}
	want := stateLock(t, lockNames(t, base))
	require.Equal(t, "state-dir:s3://lake/state/nightly/ endpoint=http://127.0.0.1:9000", want)
	for _, tc := range []struct {
		name string
		edit func(*Settings)
		same bool
	}{
		{"other outputs", func(s *Settings) { s.Out = []string{"/elsewhere/two.parquet", "s3://lake/out/{query}.csv"} }, true},
		{"another query", func(s *Settings) { s.Queries = []string{"x2.com"} }, true},
		{"several queries", func(s *Settings) { s.Queries, s.ManyQueries = []string{"x1.com", "x2.com", "x3.com"}, true }, true},
		{"other export settings", func(s *Settings) { s.MaxRows, s.Incremental = 500, "s3://lake/inc.json" }, true},
		{"a trailing slash", func(s *Settings) { s.StateDir += "/" }, true},
		{"the bucket in capitals", func(s *Settings) { s.StateDir = "S3://LAKE/state/nightly" }, true},
		{"the endpoint in the URL", func(s *Settings) {
			s.StateDir, s.S3 = "s3://lake/state/nightly?endpoint=http://127.0.0.1:9000&region=eu-west-1", dest.S3Options{}
		}, true},
		{"another prefix", func(s *Settings) { s.StateDir = "s3://lake/state/weekly" }, false},
		{"another endpoint", func(s *Settings) { s.S3.Endpoint = "http://127.0.0.1:9001" }, false},
		{"another bucket", func(s *Settings) { s.StateDir = "s3://pond/state/nightly" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.edit(&s)
			got := stateLock(t, lockNames(t, s))
			if tc.same {
				require.Equal(t, want, got)
			} else {
				require.NotEqual(t, want, got)
			}
		})
	}
	t.Run("a local state dir has its own file locks", func(t *testing.T) {
		s := base
		s.StateDir = t.TempDir()
		for _, n := range lockNames(t, s) {
			require.False(t, strings.HasPrefix(n, "state-dir:"), n)
		}
	})
}

func TestEveryObjectWrittenIsLockedWhateverTheQuery(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	for _, tc := range []struct {
		name string
		s    Settings
		want []string
	}{
		{"one object, the query not in its name", Settings{Queries: []string{"x1.com"}, Out: []string{"s3://lake/t5/out.csv"}},
			[]string{"object:s3://lake/t5/out.csv", "object:s3://lake/t5/_manifest.json"}},
		{"the same object for another query", Settings{Queries: []string{"x2.com"}, Out: []string{"s3://lake/t5/out.csv"}},
			[]string{"object:s3://lake/t5/out.csv", "object:s3://lake/t5/_manifest.json"}},
		{"{query} expands per query, {part} locks every part at once",
			Settings{Queries: []string{"a.com", "b.com"}, Out: []string{"s3://lake/dt={date}/q={query}/part-{part}.parquet"}, MaxRowsPerFile: 10},
			[]string{"object:s3://lake/dt=2026-01-31/q=a.com/part-{part}.parquet", "object:s3://lake/dt=2026-01-31/q=b.com/part-{part}.parquet",
				"object:s3://lake/dt=2026-01-31/_manifest.json"}},
		{"{method} and {run} are filled in", Settings{Queries: []string{"a.com"}, Method: "ref-domains", Out: []string{"gs://lake/{method}/{run}.ndjson"}},
			[]string{"object:gs://lake/ref-domains/run1.ndjson", "object:gs://lake/ref-domains/_manifest.json"}},
		{"--manifest and --incremental", Settings{Queries: []string{"a.com"}, Out: []string{"s3://lake/{date}/a.csv"},
			Manifest: "s3://lake/manifests/{date}.json", Incremental: "s3://lake/state.json"},
			[]string{"object:s3://lake/2026-01-31/a.csv", "object:s3://lake/manifests/2026-01-31.json", "object:s3://lake/state.json"}},
		{"a job of its own directory", Settings{Queries: []string{"a.com"}, Out: []string{"s3://lake/q={query}/data.parquet"}},
			[]string{"object:s3://lake/q=a.com/data.parquet", "object:s3://lake/q=a.com/_manifest.json"}},
		{"local outputs have file locks of their own", Settings{Queries: []string{"a.com"}, Out: []string{"/data/a.csv", "-"}}, nil},
		{"stdout and the state dir", Settings{Queries: []string{"a.com"}, Out: []string{"-"}, StateDir: "s3://lake/st"},
			[]string{"state-dir:s3://lake/st/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, lockNames(t, tc.s))
		})
	}
}

// fakeLocks are the coordinator's locks held by another run, for
// Run.Lock.
type fakeLocks struct {
	held  map[string]bool // by the other run
	mu    sync.Mutex
	taken []string // by this one
}

func (f *fakeLocks) lock(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held[name] {
		return &coord.LockedError{Holder: "otherhost:4242:abcdef"}
	}
	f.taken = append(f.taken, name)
	return nil
}

func TestExportIsRefusedBeforeAnythingWhenAnotherRunHoldsWhatItWrites(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	for _, tc := range []struct {
		name string
		s    Settings
		held string
		want string
	}{
		{"the state dir", Settings{Queries: []string{"a.com"}, Out: []string{"-"}, StateDir: "s3://lake/st/"}, "state-dir:s3://lake/st/",
			"--state-dir: another run (otherhost:4242) is using the state dir s3://lake/st/: wait for that run to end"},
		{"an output", Settings{Queries: []string{"x2.com"}, Out: []string{"s3://lake/t5/out.csv"}}, "object:s3://lake/t5/out.csv",
			"--out s3://lake/t5/out.csv: another run (otherhost:4242) is writing it: wait for that run to end"},
		{"an output of a template", Settings{Queries: []string{"a.com", "b.com"}, Out: []string{"s3://lake/{query}.csv"}}, "object:s3://lake/b.com.csv",
			"--out s3://lake/{query}.csv: another run (otherhost:4242) is writing s3://lake/b.com.csv: wait for that run to end"},
		{"the manifest", Settings{Queries: []string{"a.com"}, Out: []string{"s3://lake/t5/mine.csv"}}, "object:s3://lake/t5/_manifest.json",
			"the manifest: another run (otherhost:4242) is writing s3://lake/t5/_manifest.json: wait for that run to end"},
		{"the incremental state", Settings{Queries: []string{"a.com"}, Out: []string{"-"}, Incremental: "s3://lake/state.json"}, "object:s3://lake/state.json",
			"--incremental s3://lake/state.json: another run (otherhost:4242) is using it: wait for that run to end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: 100})
			defer srv.Close()
			r := newRun(t, srv, tc.s, 0)
			r.StateDir = tc.s.StateDir
			locks := &fakeLocks{held: map[string]bool{tc.held: true}}
			r.Lock = locks.lock
			_, err := r.Export(context.Background())
			var ue *UsageError
			require.ErrorAs(t, err, &ue, "exit 2")
			require.EqualError(t, err, tc.want)
			require.Zero(t, srv.Stats().Requests, "nothing sent")
			for _, n := range locks.taken {
				require.False(t, strings.HasPrefix(n, "export:"), "no query was started: %s", n)
			}
		})
	}
}

func TestWithoutACoordinatorObjectsAreNotLockedAndTheRunSaysSo(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  string
		says bool
	}{
		{"an object", "s3://lake/t5/out.csv", true},
		{"a local file", "out.csv", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log strings.Builder
			r := &Run{Settings: Settings{Queries: []string{"a.com"}, Out: []string{tc.out}, RunID: "run1"},
				Logger: slog.New(slog.NewTextHandler(&log, nil))}
			specs, err := parseOuts(r.Out, "", false, 0, r.method())
			require.NoError(t, err)
			require.NoError(t, r.lockShared(context.Background(), specs, r.Queries, "2026-01-31", ""))
			if tc.says {
				require.Equal(t, 1, strings.Count(log.String(), "not locked without a coordinator"), log.String())
			} else {
				require.Empty(t, log.String())
			}
		})
	}
}
