package exporter_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// What an export bills: every row once, and no credit the plan does not
// account for, whatever the API answers.

// TestSlicedExportBillsRowsAndProbes: a query past the wall is sliced,
// page 1's rows are written first and each slice reuses those it holds,
// so the export bills exactly its rows and the size-1 probes, and writes
// every row once.
func TestSlicedExportBillsRowsAndProbes(t *testing.T) {
	tests := []struct {
		name              string
		total, wall, size int
		workers           int
	}{
		{"size 100", 2000, 500, 100, 1},
		{"size 100, 4 workers", 2000, 500, 100, 4},
		{"size 250", 2000, 500, 250, 2},
		{"page 1 is the wall", 2000, 500, 500, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: tt.total, Wall: tt.wall})
			defer srv.Close()
			cfg := config(srv, "reuse.example", tt.size)
			cfg.Wall = tt.wall
			c := &collect{}
			rep, err := (&exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}, Workers: tt.workers, Now: sliceNow}).Run(context.Background())
			require.NoError(t, err)
			require.True(t, rep.Sliced)
			assert.True(t, rep.Complete)
			want := fakeRows("reuse.example", tt.total)
			requireSameSet(t, want, c.rows)
			require.Equal(t, want[:tt.size], c.rows[:tt.size], "page 1's rows come first")

			st := srv.Stats()
			assert.Equal(t, int64(tt.total)+rep.ProbeCredits, st.CreditsBilled, "billed = the rows and the size-1 probes")
			assert.Equal(t, st.CreditsBilled, rep.Credits)
			assert.Equal(t, rep.CreditsEstimated, rep.Credits, "as planned")
			reused, rows := 0, int64(0)
			for _, s := range rep.Slices {
				reused += s.Reused
				rows += s.Rows
			}
			assert.Equal(t, tt.size, reused, "the slices reuse every row of page 1")
			assert.EqualValues(t, tt.total, rows, "the slices' rows, their reused ones included, are every row")
			for k, n := range st.PagesBilled {
				assert.Equal(t, 1, n, "%+v", k)
			}
			for _, e := range srv.Log() {
				if e.Params.Size == 1 {
					continue
				}
				assert.LessOrEqual(t, e.Params.Page*e.Params.Size, tt.wall, "page %d size %d reaches past the wall", e.Params.Page, e.Params.Size)
			}
		})
	}
}

// TestResumeAfterABudgetCutPageOne: a budget smaller than page 1 cuts it
// to what it allows; the resume reuses that page 1 and buys only the
// rest, so both runs bill the rows, once.
func TestResumeAfterABudgetCutPageOne(t *testing.T) {
	const total, size = 3000, 1000
	for _, limit := range []int64{1, 400, 999} {
		t.Run(fmt.Sprintf("budget %d", limit), func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: total})
			defer srv.Close()
			dir := filepath.Join(t.TempDir(), "b.spool")
			run := func(limit int64) (*exporter.Report, *collect, error) {
				sp, st := openSpool(t, dir, key{"cut.example", size})
				defer st.Close()
				c := &collect{}
				rep, err := (&exporter.Exporter{Pager: newPager(srv, "cut.example", size), Budget: budget(limit), Sinks: []exporter.Sink{c}, Workers: 2, Checkpoint: sp}).Run(context.Background())
				return rep, c, err
			}
			rep, c, err := run(limit)
			require.ErrorIs(t, err, pager.ErrBudgetExhausted)
			assert.Equal(t, exporter.StopBudget, rep.StopReason)
			require.Equal(t, fakeRows("cut.example", int(limit)), c.rows, "page 1, cut to the budget, is written")
			assert.Equal(t, limit, srv.Stats().CreditsBilled)

			rep, c, err = run(0)
			require.NoError(t, err)
			assert.True(t, rep.Complete)
			require.Equal(t, fakeRows("cut.example", total), c.rows)
			assert.Equal(t, 1, rep.Resumed, "page 1 came from the spool")
			assert.EqualValues(t, total-limit, rep.Credits)
			assert.EqualValues(t, total, rep.CreditsInAll)
			assert.EqualValues(t, total, srv.Stats().CreditsBilled, "both runs billed the rows, once")
			for k, n := range srv.Stats().PagesBilled {
				assert.Equal(t, 1, n, "%+v", k)
			}
		})
	}
}

// holdBack sends the first request of page hold only once the answer of
// page after has come back: answers out of order, so that page after is
// answered before new rows come, and page hold after.
type holdBack struct {
	f           pager.Fetcher
	hold, after int
	once        sync.Once
	answered    chan struct{} // closed when page after's answer is back
}

func (h *holdBack) Fetch(ctx context.Context, m *serpstat.Method, p serpstat.Params) (*serpstat.Page, error) {
	if p.Page == h.hold {
		select {
		case <-h.answered:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	pg, err := h.f.Fetch(ctx, m, p)
	if p.Page == h.after {
		h.once.Do(func() { close(h.answered) })
	}
	return pg, err
}

// TestLiveDataGapOfSeveralPagesIsProvenAndKept: 250 rows are inserted on
// top (the API's default order) while a query of 2,000 rows is exported
// 100 a page, between the answer of page 6 and that of page 5: the rows
// between the two pages, pushed 2.5 pages down, are found by reading on
// from page 6's offset until its first row, and the rows pushed past the
// planned end by reading on after it. Every row that existed at page 1
// is written once; and a second run from the same spool finds every page
// and every re-read there, and buys nothing.
func TestLiveDataGapOfSeveralPagesIsProvenAndKept(t *testing.T) {
	const total, size, inserted = 2000, 100, 250
	// Pages 1..4 and 6 are billed before the insertion (the 5th billed
	// answer is page 6's), page 5 and every later one after it.
	srv := serpstattest.NewServer(serpstattest.Options{Rows: total, InsertRows: inserted, InsertAfter: 5})
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "live.spool")
	run := func() (*exporter.Report, *collect, error) {
		sp, st := openSpool(t, dir, key{"insert.example", size})
		defer st.Close()
		cfg := config(srv, "insert.example", size)
		cfg.Fetcher = &holdBack{f: cfg.Fetcher, hold: 5, after: 6, answered: make(chan struct{})}
		c := &collect{}
		rep, err := (&exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}, Workers: 2, Checkpoint: sp}).Run(context.Background())
		return rep, c, err
	}
	rep, c, err := run()
	require.NoError(t, err)
	requireSameSet(t, fakeRows("insert.example", total), c.rows)
	assert.Zero(t, rep.InDoubt)
	assert.Equal(t, total+inserted, rep.LastTotal, "the rows came while exporting")
	// The junction: 3 pages from page 6's offset, to its first row; the
	// end: the 250 rows pushed past it.
	assert.EqualValues(t, 3*size+inserted, rep.Reread)
	billed := srv.Stats().CreditsBilled
	assert.EqualValues(t, total+3*size+inserted, billed, "the rows, once, and the re-reads")
	assert.Equal(t, billed, rep.Credits)
	t.Logf("billed %d for %d rows: %d re-read, %d duplicates", billed, total, rep.Reread, rep.Duplicates)

	rep, c, err = run()
	require.NoError(t, err)
	requireSameSet(t, fakeRows("insert.example", total), c.rows)
	assert.Zero(t, rep.InDoubt)
	assert.Zero(t, rep.Credits)
	assert.Equal(t, billed, srv.Stats().CreditsBilled, "the second run bought nothing the first stored, re-reads included")
}

// dropFilters is an API that ignores every complexFilter.
type dropFilters struct{ f pager.Fetcher }

func (d dropFilters) Fetch(ctx context.Context, m *serpstat.Method, p serpstat.Params) (*serpstat.Page, error) {
	p.ComplexFilter = nil
	return d.f.Fetch(ctx, m, p)
}

// TestFiltersWithNoEffectPutRowsInDoubt: an API that ignores every
// slicing filter answers every slice's probe with the query's total;
// each dimension's split is dropped at its first parts that add up to
// more than the query, so the export buys its first wall rows and a few
// probes, names the filters, and fails with the rest in doubt rather
// than buying the query again and again.
func TestFiltersWithNoEffectPutRowsInDoubt(t *testing.T) {
	const total, wall = 2000, 500
	for _, size := range []int{100, wall} {
		t.Run(fmt.Sprintf("size %d", size), func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: total})
			defer srv.Close()
			cfg := config(srv, "ignored.example", size)
			cfg.Wall = wall
			cfg.Fetcher = dropFilters{f: cfg.Fetcher}
			c := &collect{}
			rep, err := (&exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}, Now: sliceNow}).Run(context.Background())
			require.ErrorIs(t, err, exporter.ErrRowsInDoubt)
			assert.Equal(t, exporter.StopInDoubt, rep.StopReason)
			var fields []string
			for _, ne := range rep.NoEffect {
				fields = append(fields, ne.Field)
				assert.Equal(t, total, ne.Parent)
				assert.Greater(t, ne.Sum, total)
			}
			assert.Equal(t, []string{"add", "links_external", "link_type", "link_nofollow", "check"}, fields)
			assert.Equal(t, total-wall, rep.SliceInDoubt)
			require.Equal(t, fakeRows("ignored.example", wall), c.rows, "the first wall rows, in API order")

			billed := srv.Stats().CreditsBilled
			assert.Equal(t, billed, rep.Credits)
			assert.Equal(t, int64(wall)+rep.ProbeCredits, billed, "billed = the rows under the wall and the probes")
			assert.LessOrEqual(t, rep.Probes, 2*len(fields), "two probes a dimension")
			assert.Less(t, billed, int64(2*total))
		})
	}
}

// failAgain fails every request for page fail but its first: the re-reads
// of that page, when the API goes wrong in the middle of proving a
// junction (an error no retry clears).
type failAgain struct {
	f    pager.Fetcher
	fail int
	mu   sync.Mutex
	n    int
}

func (a *failAgain) Fetch(ctx context.Context, m *serpstat.Method, p serpstat.Params) (*serpstat.Page, error) {
	if p.Page == a.fail {
		a.mu.Lock()
		a.n++
		n := a.n
		a.mu.Unlock()
		if n > 1 {
			return nil, &serpstat.Error{Code: 12345, Message: "something unforeseen"}
		}
	}
	return a.f.Fetch(ctx, m, p)
}

// TestRowsInDoubtAreProvenByTheRerunWithoutBuyingAgain: the junction of
// TestLiveDataGapOfSeveralPagesIsProvenAndKept, but the API fails the
// second of its three re-reads: the first run stops with the gap's rows
// in doubt (ErrUnproven), its re-reads kept; the rerun reads them from
// the spool, buys only the two re-reads the first could not, proves the
// junction and ends with every row once.
func TestRowsInDoubtAreProvenByTheRerunWithoutBuyingAgain(t *testing.T) {
	const total, size, inserted = 2000, 100, 250
	srv := serpstattest.NewServer(serpstattest.Options{Rows: total, InsertRows: inserted, InsertAfter: 5})
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "doubt.spool")
	run := func(fail bool) (*exporter.Report, *collect, error) {
		sp, st := openSpool(t, dir, key{"doubt.example", size})
		defer st.Close()
		cfg := config(srv, "doubt.example", size)
		cfg.Fetcher = &holdBack{f: cfg.Fetcher, hold: 5, after: 6, answered: make(chan struct{})}
		if fail {
			cfg.Fetcher = &failAgain{f: cfg.Fetcher, fail: 7}
		}
		c := &collect{}
		rep, err := (&exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}, Workers: 2, Checkpoint: sp}).Run(context.Background())
		return rep, c, err
	}
	rep, _, err := run(true)
	require.ErrorIs(t, err, exporter.ErrUnproven)
	assert.EqualValues(t, inserted, rep.InDoubt)
	first := srv.Stats().CreditsBilled

	rep, c, err := run(false)
	require.NoError(t, err)
	requireSameSet(t, fakeRows("doubt.example", total), c.rows)
	assert.Zero(t, rep.InDoubt)
	assert.EqualValues(t, 2*size, srv.Stats().CreditsBilled-first, "only the re-reads the first run could not make")
	assert.EqualValues(t, total+3*size+inserted, srv.Stats().CreditsBilled, "over both runs: the rows, the three re-reads and the rows pushed past the end, each once")
}
