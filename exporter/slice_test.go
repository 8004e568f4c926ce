package exporter_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

var sliceNow = func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }

// requireSameSet checks that got holds every row of want exactly once.
func requireSameSet(t *testing.T, want, got []serpstat.Row) {
	t.Helper()
	require.Equal(t, len(want), len(got), "row count")
	seen := make(map[string]int, len(got))
	for _, r := range got {
		seen[rowKey(r)]++
	}
	for i, r := range want {
		require.Equal(t, 1, seen[rowKey(r)], "row %d appears %d times", i, seen[rowKey(r)])
	}
}

func TestSlicingGetsPastTheWall(t *testing.T) {
	// A wall of 3,000 rows (the fake's and the pager's) stands for the
	// API's 60,000, so that the export stays small.
	const total, wall, size = 12000, 3000, 500
	srv := serpstattest.NewServer(serpstattest.Options{Rows: total, Wall: wall})
	defer srv.Close()
	cfg := config(srv, "big.example", size)
	cfg.Wall = wall
	c := &collect{}
	e := &exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}, Workers: 4, Now: sliceNow}
	rep, err := e.Run(context.Background())
	require.NoError(t, err)
	requireSameSet(t, fakeRows("big.example", total), c.rows)
	require.True(t, rep.Sliced)
	assert.True(t, rep.Complete)
	assert.Equal(t, total, rep.SliceSum(), "the slices partition the query")
	assert.Zero(t, rep.Unreachable)
	st := srv.Stats()
	t.Logf("%d slices, %d probes costing %d credits; billed %d", len(rep.Slices), rep.Probes, rep.ProbeCredits, st.CreditsBilled)
	reused := 0
	for _, s := range rep.Slices {
		reused += s.Reused
	}
	assert.Equal(t, size, reused, "every row of page 1 is reused by the slice that holds it")
	assert.Equal(t, int64(total)+rep.ProbeCredits, st.CreditsBilled, "billed = the rows and the size-1 probes")
	assert.Equal(t, st.CreditsBilled, rep.Credits)
	assert.Zero(t, st.ByOutcome[serpstattest.OutcomeWall], "no request past the wall")
	for _, e := range srv.Log() {
		require.LessOrEqual(t, e.Params.Page*e.Params.Size, wall, "page %d size %d reaches past the wall", e.Params.Page, e.Params.Size)
	}
	// Page 1's rows first, then ordered by slice (first-seen date), in
	// API order within a slice: every row a slice adds was first seen
	// before every row the next adds.
	require.Equal(t, fakeRows("big.example", size), c.rows[:size])
	at := size
	last := ""
	firstSeen := backlinks.NewBacklinks.ColumnIndex("first_seen")
	for _, s := range rep.Slices {
		rows := c.rows[at : at+int(s.Rows)-s.Reused]
		at += len(rows)
		if len(rows) == 0 {
			continue
		}
		lo, hi := rows[0].Values[firstSeen].Str, rows[0].Values[firstSeen].Str
		for _, r := range rows {
			lo, hi = min(lo, r.Values[firstSeen].Str), max(hi, r.Values[firstSeen].Str)
		}
		require.Less(t, last, lo, "slice %s starts after the one before", s.Label)
		last = hi
	}
	require.Equal(t, len(c.rows), at)
}

func TestSlicingOneDayOverTheWall(t *testing.T) {
	// A wall of 6,000 rows (the fake's and the pager's) stands for the
	// API's 60,000: 9,000 rows first seen on one day.
	const total, wall = 9000, 6000
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return total }, Wall: wall})
	defer srv.Close()
	c := &collect{}
	q := serpstattest.OneDayPrefix + "example.com"
	cfg := config(srv, q, 1000)
	cfg.Wall = wall
	e := &exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}, Workers: 4, Now: sliceNow}
	rep, err := e.Run(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Sliced)
	t.Logf("%d slices: %+v", len(rep.Slices), rep.Slices)
	if rep.Unreachable == 0 {
		requireSameSet(t, fakeRows(q, total), c.rows)
	} else {
		assert.EqualValues(t, total-rep.Unreachable, len(c.rows), "the summary states the exact unreachable count")
	}
	assert.Zero(t, rep.Unreachable, "links_external splits one day")
	assert.Zero(t, srv.Stats().ByOutcome[serpstattest.OutcomeWall])
}

func TestSlicingKeepsTheUsersOrGroups(t *testing.T) {
	// Two OR-groups; with the wall lowered to 700 the query is sliced,
	// and must return exactly the rows it returns unsliced.
	user, err := backlinks.NewBacklinks.ParseFilter([]byte(`[
		[{"field":"url_from","compareType":"contains","value":["blog"]}],
		[{"field":"link_nofollow","compareType":"eq","value":["nofollow"]},{"field":"links_external","compareType":"lt","value":[300]}]
	]`))
	require.NoError(t, err)
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 6000})
	defer srv.Close()

	unsliced := &collect{}
	cfg := config(srv, "or.example", 100)
	cfg.Params.ComplexFilter = user
	rep, err := (&exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{unsliced}}).Run(context.Background())
	require.NoError(t, err)
	require.False(t, rep.Sliced)
	require.Greater(t, len(unsliced.rows), 1400, "the filter matches enough rows to slice")

	sliced := &collect{}
	cfg.Wall = 700
	rep, err = (&exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{sliced}, Now: sliceNow}).Run(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Sliced)
	require.Greater(t, len(rep.Slices), 2)
	requireSameSet(t, unsliced.rows, sliced.rows)
	assert.Equal(t, len(unsliced.rows), rep.SliceSum())
}

func TestSlicedExportResumesWithoutProbingAgain(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 5000})
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "s.spool")
	run := func(limit int64) (*exporter.Report, *collect, error) {
		sp, st := openSpool(t, dir, key{"resume-sliced.example", 100})
		defer st.Close()
		cfg := config(srv, "resume-sliced.example", 100)
		cfg.Wall = 1500
		c := &collect{}
		rep, err := (&exporter.Exporter{Pager: pager.New(cfg), Budget: budget(limit), Sinks: []exporter.Sink{c}, Checkpoint: sp, Workers: 2, Partial: true, Now: sliceNow}).Run(context.Background())
		return rep, c, err
	}
	rep, _, err := run(2500)
	require.NoError(t, err)
	require.True(t, rep.Partial)
	spent := srv.Stats().CreditsBilled
	requestsBefore := srv.Stats().Requests

	rep, c, err := run(0)
	require.NoError(t, err)
	require.True(t, rep.Complete)
	requireSameSet(t, fakeRows("resume-sliced.example", 5000), c.rows)
	assert.Greater(t, rep.Resumed, 0)
	t.Logf("first run %d credits, %d requests; resumed %d pages; total %d credits", spent, requestsBefore, rep.Resumed, srv.Stats().CreditsBilled)
	// Nothing the first run paid for, probes included, is paid again.
	for k, n := range srv.Stats().PagesBilled {
		assert.Equal(t, 1, n, "%+v", k)
	}

	// A third run of the finished export's spool plans nothing again.
	rep, _, err = run(0)
	require.NoError(t, err)
	assert.Zero(t, rep.Probes, "the slice plan came from the checkpoint")
}

func TestNoSliceStopsAtTheWall(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 3000})
	defer srv.Close()
	cfg := config(srv, "noslice.example", 500)
	cfg.Wall = 2000
	c := &collect{}
	rep, err := (&exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}, NoSlice: true}).Run(context.Background())
	require.NoError(t, err)
	assert.False(t, rep.Sliced)
	assert.Equal(t, exporter.StopWall, rep.StopReason)
	assert.Equal(t, 1000, rep.Unreachable)
	require.Equal(t, fakeRows("noslice.example", 2000), c.rows)
}

func TestUnsplittableSliceReportsTheExactUnreachableCount(t *testing.T) {
	// With a wall of 45 rows, some single day, links_external value,
	// link_nofollow and link_type still hold more (and the API refuses
	// last-visited dates): only 45 of their rows are reachable, and the
	// report says exactly how many are not. (Page 1 is no larger than
	// the wall, as the API's 1,000 rows are under its 60,000.)
	const total, wall = 3000, 45
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return total }, Wall: wall})
	defer srv.Close()
	q := serpstattest.OneDayPrefix + "tiny.example"
	cfg := config(srv, q, wall)
	cfg.Wall = wall
	// Without the last resort (last-visited dates), which would split
	// even these.
	cfg.Fetcher = &refuse{f: cfg.Fetcher, field: "check"}
	c := &collect{}
	rep, err := (&exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}, Now: sliceNow}).Run(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Sliced)
	t.Logf("%d slices, %d probes, %d rows unreachable", len(rep.Slices), rep.Probes, rep.Unreachable)
	require.Greater(t, rep.Unreachable, 0)
	assert.Equal(t, total, len(c.rows)+rep.Unreachable, "rows written + unreachable = total")
	assert.Equal(t, exporter.StopWall, rep.StopReason)
	all := map[string]bool{}
	for _, r := range fakeRows(q, total) {
		all[rowKey(r)] = true
	}
	seen := map[string]bool{}
	for _, r := range c.rows {
		require.True(t, all[rowKey(r)])
		require.False(t, seen[rowKey(r)], "a row in two slices")
		seen[rowKey(r)] = true
	}
	assert.Zero(t, srv.Stats().ByOutcome[serpstattest.OutcomeWall])
}

// inflate adds extra to the total of answers whose filter's JSON holds
// text: an API applying a slicing filter otherwise than documented.
type inflate struct {
	f     pager.Fetcher
	text  string
	extra int
}

func (m *inflate) Fetch(ctx context.Context, meth *serpstat.Method, p serpstat.Params) (*serpstat.Page, error) {
	js, _ := json.Marshal(p.ComplexFilter)
	pg, err := m.f.Fetch(ctx, meth, p)
	if err == nil && strings.Contains(string(js), m.text) {
		pg.Summary.Total += serpstat.Int(m.extra)
	}
	return pg, err
}

// TestSlicesThatDoNotAddUp: a split whose parts' totals do not add up to
// their parent's is dropped at once (NoEffect) and the next slicing
// dimension is tried: when one partitions the query every row is
// exported and the run succeeds; when none does, the rows past the wall
// are in doubt and the run fails with ErrRowsInDoubt.
func TestSlicesThatDoNotAddUp(t *testing.T) {
	const total, wall = 3000, 1000
	tests := []struct {
		name string
		text string // in the filter of the answers inflated
		// what the run exports: every row, or the first wall rows
		rows     int
		inDoubt  int
		noEffect []string // the filters named, first ones first
	}{
		{"the first date half inflated: links_external splits instead", `"gte","value":["01.01.2000"]`, total, 0, []string{"add"}},
		{"every filter inflated: nothing splits", `"field":`, wall, total - wall, []string{"add", "links_external", "link_type", "link_nofollow", "check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: total})
			defer srv.Close()
			cfg := config(srv, "doubt.example", 100)
			cfg.Wall = wall
			cfg.Fetcher = &inflate{f: cfg.Fetcher, text: tt.text, extra: 7}
			c := &collect{}
			rep, err := (&exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}, Now: sliceNow}).Run(context.Background())
			var fields []string
			for _, ne := range rep.NoEffect {
				fields = append(fields, ne.Field)
			}
			assert.Equal(t, tt.noEffect, fields)
			assert.Equal(t, tt.inDoubt, rep.SliceInDoubt)
			if tt.inDoubt == 0 {
				require.NoError(t, err)
				assert.True(t, rep.Complete)
				assert.Zero(t, rep.Unreachable)
				requireSameSet(t, fakeRows("doubt.example", total), c.rows)
				return
			}
			require.ErrorIs(t, err, exporter.ErrRowsInDoubt)
			assert.Equal(t, tt.inDoubt, rep.Unreachable, "rows in doubt count as out of reach")
			assert.False(t, rep.Complete)
			assert.Equal(t, exporter.StopInDoubt, rep.StopReason)
			require.Equal(t, fakeRows("doubt.example", tt.rows), c.rows, "the first wall rows, in API order")
			require.Len(t, rep.Slices, 1)
			assert.True(t, rep.Slices[0].InDoubt)
		})
	}
}

// refuse answers 32117 to a filter naming field.
type refuse struct {
	f     pager.Fetcher
	field string
}

func (m *refuse) Fetch(ctx context.Context, meth *serpstat.Method, p serpstat.Params) (*serpstat.Page, error) {
	js, _ := json.Marshal(p.ComplexFilter)
	if strings.Contains(string(js), `"field":"`+m.field+`"`) {
		return nil, &serpstat.Error{Code: 32117, Message: "Not allowed field: " + m.field}
	}
	return m.f.Fetch(ctx, meth, p)
}

// TestAnAPIWallPastTheKeptPointsIsReportedNotSliced: the slicing points
// of the rows written are kept for the API's own wall's worth of rows (a
// hundred here); an API wall met after them (only possible with --wall
// raised past the API's) is not sliced under, since the rows written
// could not be told apart from the slices': what is past it is out of
// reach, and the export says so.
func TestAnAPIWallPastTheKeptPointsIsReportedNotSliced(t *testing.T) {
	defer exporter.SetMaxPointRows(100)()
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500, Wall: 1800})
	defer srv.Close()
	c := &collect{}
	e := &exporter.Exporter{Pager: newPager(srv, "wall.example", 600), Sinks: []exporter.Sink{c}, Workers: 1, Now: sliceNow}
	rep, err := e.Run(context.Background())
	require.ErrorIs(t, err, exporter.ErrRowsInDoubt)
	require.Contains(t, err.Error(), "700 rows out of reach")
	require.Len(t, c.rows, 1800)
	require.Equal(t, 1800, rep.APIWall)
	require.Contains(t, rep.NotSliced, "slicing points")
	require.EqualValues(t, 1800, srv.Stats().CreditsBilled, "nothing bought past the rows written")
}
