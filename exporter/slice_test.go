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
	if testing.Short() {
		t.Skip("exports 250,000 rows")
	}
	const total = 250000
	srv := serpstattest.NewServer(serpstattest.Options{Rows: total})
	defer srv.Close()
	c := &collect{}
	e := &exporter.Exporter{Pager: newPager(srv, "big.example", 1000, 0), Sinks: []exporter.Sink{c}, Workers: 4, Now: sliceNow}
	rep, err := e.Run(context.Background())
	require.NoError(t, err)
	requireSameSet(t, fakeRows("big.example", total), c.rows)
	require.True(t, rep.Sliced)
	assert.True(t, rep.Complete)
	assert.Equal(t, total, rep.SliceSum(), "the slices partition the query")
	assert.Zero(t, rep.Unreachable)
	st := srv.Stats()
	t.Logf("%d slices, %d probes costing %d credits; billed %d", len(rep.Slices), rep.Probes, rep.ProbeCredits, st.CreditsBilled)
	assert.LessOrEqual(t, st.CreditsBilled, int64(total+len(rep.Slices)*1000))
	assert.Equal(t, st.CreditsBilled, rep.Credits)
	assert.Zero(t, st.ByOutcome[serpstattest.OutcomeWall], "no request past the wall")
	for _, e := range srv.Log() {
		require.LessOrEqual(t, e.Params.Page*e.Params.Size, 60000, "page %d size %d reaches past the wall", e.Params.Page, e.Params.Size)
	}
	// Ordered by slice (first-seen date), then API order within a slice:
	// every row of a slice was first seen before every row of the next.
	at := 0
	last := ""
	for _, s := range rep.Slices {
		rows := c.rows[at : at+int(s.Rows)]
		at += int(s.Rows)
		firstSeen := backlinks.NewBacklinks.ColumnIndex("first_seen")
		lo, hi := rows[0].Values[firstSeen].Str, rows[0].Values[firstSeen].Str
		for _, r := range rows {
			lo, hi = min(lo, r.Values[firstSeen].Str), max(hi, r.Values[firstSeen].Str)
		}
		require.Less(t, last, lo, "slice %s starts after the one before", s.Label)
		last = hi
	}
}

func TestSlicingOneDayOverTheWall(t *testing.T) {
	if testing.Short() {
		t.Skip("exports 90,000 rows")
	}
	const total = 90000
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return total }})
	defer srv.Close()
	c := &collect{}
	q := serpstattest.OneDayPrefix + "example.com"
	e := &exporter.Exporter{Pager: newPager(srv, q, 1000, 0), Sinks: []exporter.Sink{c}, Workers: 4, Now: sliceNow}
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
	p := newPager(srv, "or.example", 100, 0)
	p.Params.ComplexFilter = user
	rep, err := (&exporter.Exporter{Pager: p, Sinks: []exporter.Sink{unsliced}}).Run(context.Background())
	require.NoError(t, err)
	require.False(t, rep.Sliced)
	require.Greater(t, len(unsliced.rows), 1400, "the filter matches enough rows to slice")

	sliced := &collect{}
	p = newPager(srv, "or.example", 100, 0)
	p.Params.ComplexFilter = user
	p.Wall = 700
	rep, err = (&exporter.Exporter{Pager: p, Sinks: []exporter.Sink{sliced}, Now: sliceNow}).Run(context.Background())
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
	run := func(budget int64) (*exporter.Report, *collect, error) {
		sp, err := exporter.OpenSpool(dir, key{"resume-sliced.example", 100})
		require.NoError(t, err)
		defer sp.Close()
		p := newPager(srv, "resume-sliced.example", 100, budget)
		p.Wall = 1500
		c := &collect{}
		rep, err := (&exporter.Exporter{Pager: p, Sinks: []exporter.Sink{c}, Checkpoint: sp, Workers: 2, Partial: true, Now: sliceNow}).Run(context.Background())
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
	p := newPager(srv, "noslice.example", 500, 0)
	p.Wall = 2000
	c := &collect{}
	rep, err := (&exporter.Exporter{Pager: p, Sinks: []exporter.Sink{c}, NoSlice: true}).Run(context.Background())
	require.NoError(t, err)
	assert.False(t, rep.Sliced)
	assert.Equal(t, exporter.StopWall, rep.StopReason)
	assert.Equal(t, 1000, rep.Unreachable)
	require.Equal(t, fakeRows("noslice.example", 2000), c.rows)
}

func TestUnsplittableSliceReportsTheExactUnreachableCount(t *testing.T) {
	// With a wall of 2 rows, some single day, links_external value,
	// link_nofollow and link_type still hold more (and the API refuses
	// last-visited dates): only 2 of their rows are
	// reachable, and the report says exactly how many are not.
	const total = 400
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return total }})
	defer srv.Close()
	q := serpstattest.OneDayPrefix + "tiny.example"
	p := newPager(srv, q, 1000, 0)
	p.Wall = 2
	// Without the last resort (last-visited dates), which would split
	// even these.
	p.Fetcher = &refuse{f: p.Fetcher, field: "check"}
	c := &collect{}
	rep, err := (&exporter.Exporter{Pager: p, Sinks: []exporter.Sink{c}, Now: sliceNow}).Run(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Sliced)
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

func TestSlicesThatDoNotAddUpFailTheRun(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 3000})
	defer srv.Close()
	p := newPager(srv, "doubt.example", 100, 0)
	p.Wall = 1000
	p.Fetcher = &inflate{f: p.Fetcher, text: `"gte","value":["1.1.2000"]`, extra: 7}
	c := &collect{}
	rep, err := (&exporter.Exporter{Pager: p, Sinks: []exporter.Sink{c}, Now: sliceNow}).Run(context.Background())
	require.ErrorIs(t, err, exporter.ErrRowsInDoubt)
	assert.Equal(t, 7, rep.SliceInDoubt)
	assert.Equal(t, 7, rep.Unreachable, "rows in doubt count as out of reach")
	assert.False(t, rep.Complete)
	assert.Equal(t, exporter.StopInDoubt, rep.StopReason)
	requireSameSet(t, fakeRows("doubt.example", 3000), c.rows)
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
