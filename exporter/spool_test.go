package exporter_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

type key struct {
	Query string `json:"query"`
	Size  int    `json:"size"`
}

// openSpool opens the spool of export k kept in dir, a DirStore locked
// until the test ends (or the store is closed).
func openSpool(t *testing.T, dir string, k any) (*exporter.Spool, *dest.DirStore) {
	t.Helper()
	st, err := dest.OpenDir(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	sp, err := exporter.OpenSpool(context.Background(), st, k)
	require.NoError(t, err)
	return sp, st
}

// pageFile is the file of a stored page of the query (part "") in dir.
func pageFile(dir string, st pager.Step) string {
	return filepath.Join(dir, fmt.Sprintf("page-%09d-%d.json", st.Offset(), st.Size))
}

func TestSpoolRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "s.spool")
	sp, st := openSpool(t, dir, key{"a.example", 1000})
	rows := fakeRows("a.example", 30)
	third := pager.Step{Page: 3, Size: 1000}
	pg := &pager.Page{N: 3, Step: third, Rows: rows, Billed: 30, Summary: serpstat.SummaryInfo{Total: 2030, LeftLines: 99}}
	require.NoError(t, sp.Save(ctx, "", pg))
	require.NoError(t, st.Close())

	// A temporary file a killed run left behind is not a page.
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".page-000002000-1000.json.tmp-123"), []byte("{"), 0o644))

	sp, _ = openSpool(t, dir, key{"a.example", 1000})
	assert.Equal(t, []pager.Step{third}, sp.Stored(""))
	assert.Empty(t, sp.Stored("a-slice"), "parts are kept apart")
	got, err := sp.Load(ctx, "", third)
	require.NoError(t, err)
	assert.Equal(t, rows, got.Rows)
	assert.True(t, got.Spooled)
	assert.Equal(t, third, got.Step)
	assert.Equal(t, pg.Summary, got.Summary)
	assert.EqualValues(t, 30, got.Billed)
	missing, err := sp.Load(ctx, "", pager.Step{Page: 4, Size: 1000})
	require.NoError(t, err)
	assert.Nil(t, missing)
	missing, err = sp.Load(ctx, "a-slice", third)
	require.NoError(t, err)
	assert.Nil(t, missing, "the same step of another part is another page")
}

// TestSpoolReadsPagesNamedByNumber: a spool written before pages were
// named by their step (page-000002.json) is still read, its pages found
// under the step their header names.
func TestSpoolReadsPagesNamedByNumber(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "s.spool")
	sp, st := openSpool(t, dir, key{"a.example", 1000})
	second := pager.Step{Page: 2, Size: 1000}
	rows := fakeRows("a.example", 2000)[1000:]
	require.NoError(t, sp.Save(ctx, "", &pager.Page{N: 2, Step: second, Rows: rows, Billed: 1000}))
	require.NoError(t, st.Close())
	require.NoError(t, os.Rename(pageFile(dir, second), filepath.Join(dir, "page-000002.json")))

	sp, _ = openSpool(t, dir, key{"a.example", 1000})
	assert.Equal(t, []pager.Step{second}, sp.Stored(""))
	got, err := sp.Load(ctx, "", second)
	require.NoError(t, err)
	assert.Equal(t, rows, got.Rows)
}

func TestSpoolRefusesAnotherExport(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "s.spool")
	_, st := openSpool(t, dir, key{"a.example", 1000})
	_, err := exporter.OpenSpool(ctx, st, key{"a.example", 500})
	require.ErrorIs(t, err, exporter.ErrSpoolMismatch)
	require.NoError(t, st.RemoveAll())
	openSpool(t, dir, key{"a.example", 500})
}

// TestSpoolStoreIsLocked: a local spool's DirStore is held by one run at a
// time, and free again once closed.
func TestSpoolStoreIsLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s.spool")
	_, st := openSpool(t, dir, key{"a.example", 1000})
	_, err := dest.OpenDir(dir)
	require.ErrorIs(t, err, dest.ErrStoreBusy)
	require.NoError(t, st.Close())
	openSpool(t, dir, key{"a.example", 1000})
}

func TestResumeFromCheckpointPaysNothingTwice(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10000})
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "s.spool")
	run := func(limit int64, partial bool) (*exporter.Report, *collect, error) {
		sp, st := openSpool(t, dir, key{"resume.example", 1000})
		defer st.Close()
		c := &collect{}
		e := &exporter.Exporter{Pager: newPager(srv, "resume.example", 1000), Budget: budget(limit), Sinks: []exporter.Sink{c}, Workers: 3, Partial: partial, Checkpoint: sp}
		rep, err := e.Run(context.Background())
		return rep, c, err
	}

	// A first run stopped by its budget after four pages...
	_, c, err := run(4500, true)
	require.NoError(t, err)
	require.Len(t, c.rows, 4000)

	// ...and its resume: the four pages come from the spool. --budget
	// caps the export in all: 6000 more do not fit with 4000 spent...
	rep, _, err := run(6000, false)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	assert.ErrorContains(t, err, "the full export needs 10000 credits (6000 more)")
	assert.EqualValues(t, 4000, rep.CreditsEarlier)
	assert.EqualValues(t, 4000, rep.CreditsInAll)
	assert.EqualValues(t, 10000, rep.CreditsEstimated)
	assert.EqualValues(t, 6000, rep.CreditsLeft, "the stored pages are not needed again")

	// ...10000 do.
	rep, c, err = run(10000, false)
	require.NoError(t, err)
	require.Equal(t, fakeRows("resume.example", 10000), c.rows)
	assert.Equal(t, 4, rep.Resumed)
	assert.EqualValues(t, 6000, rep.Credits)
	assert.EqualValues(t, 10000, rep.CreditsInAll)
	assert.Equal(t, 3, rep.Attempts)
	assert.EqualValues(t, 10000, srv.Stats().CreditsBilled)
	for k, n := range srv.Stats().PagesBilled {
		assert.Equal(t, 1, n, "page %+v", k)
	}
}

func TestStopFinishesRequestsInFlight(t *testing.T) {
	stop := make(chan struct{})
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 20000, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Params.Page == 5 {
			close(stop) // Ctrl-C while pages 5.. are in flight
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	sp, _ := openSpool(t, filepath.Join(t.TempDir(), "s.spool"), key{"stop.example", 1000})
	c := &collect{}
	e := &exporter.Exporter{Pager: newPager(srv, "stop.example", 1000), Sinks: []exporter.Sink{c}, Workers: 1, Checkpoint: sp, Stop: stop}
	rep, err := e.Run(context.Background())
	require.ErrorIs(t, err, pager.ErrInterrupted)
	assert.Equal(t, exporter.StopInterrupted, rep.StopReason)
	require.Equal(t, fakeRows("stop.example", 5000), c.rows, "page 5 was in flight: finished and written")
	assert.EqualValues(t, 5000, srv.Stats().CreditsBilled)
	for _, e := range srv.Log() {
		assert.NotEqual(t, serpstattest.OutcomeCanceled, e.Outcome)
	}
}

// drifting inserts k new rows above the data before every page after the
// first, as the API does when backlinks are found while exporting: each
// page then starts with the last k rows of the page before, and the total
// grows.
type drifting struct {
	f     pager.Fetcher
	k     int
	query string
}

func (d *drifting) Fetch(ctx context.Context, meth *serpstat.Method, p serpstat.Params) (*serpstat.Page, error) {
	pg, err := d.f.Fetch(ctx, meth, p)
	if err != nil || p.Page == 1 {
		return pg, err
	}
	off := (p.Page-1)*p.Size - d.k
	shifted := fakeRows(d.query, off+p.Size)[off:]
	pg.Data = shifted[:min(len(shifted), len(pg.Data))]
	pg.Summary.Total += serpstat.Int(d.k)
	return pg, nil
}

func TestDriftDropsRowsRepeatedAcrossPageBoundaries(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 5000})
	defer srv.Close()
	cfg := config(srv, "drift.example", 1000)
	cfg.Fetcher = &drifting{f: cfg.Fetcher, k: 3, query: "drift.example"}
	c := &collect{}
	e := &exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}, Workers: 4}
	rep, err := e.Run(context.Background())
	require.NoError(t, err)
	want := fakeRows("drift.example", 5000)[:5000-3]
	require.Equal(t, want, c.rows, "every row once, in order")
	assert.EqualValues(t, 3, rep.Duplicates, "the 3 rows pushed from page 1 into page 2")
	assert.Equal(t, 5003, rep.LastTotal)
}

func TestSpoolDamagedPagesAreNeverTrusted(t *testing.T) {
	ctx := context.Background()
	step := func(n int) pager.Step { return pager.Step{Page: n, Size: 5} }
	save := func(t *testing.T, dir string, k key, n int) string {
		sp, st := openSpool(t, dir, k)
		defer st.Close()
		rows := fakeRows("a.example", 5*n)[5*(n-1):]
		require.NoError(t, sp.Save(ctx, "", &pager.Page{N: n, Step: step(n), Rows: rows, Billed: 5}))
		return pageFile(dir, step(n))
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, dir, p3, p4 string)
	}{
		{"cut short", func(t *testing.T, dir, p3, p4 string) {
			data, err := os.ReadFile(p3)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p3, data[:len(data)-40], 0o644))
		}},
		{"cut inside the header", func(t *testing.T, dir, p3, p4 string) {
			require.NoError(t, os.WriteFile(p3, []byte(`{"n":3,"pa`), 0o644))
		}},
		{"another page's content", func(t *testing.T, dir, p3, p4 string) {
			data, err := os.ReadFile(p4)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p3, data, 0o644))
		}},
		{"an edited row", func(t *testing.T, dir, p3, p4 string) {
			data, err := os.ReadFile(p3)
			require.NoError(t, err)
			// A digit of the last row, changed: still a well-formed row.
			i := bytes.LastIndexAny(data, "0123456789")
			require.Greater(t, i, bytes.IndexByte(data, '\n'), "a digit in the rows")
			data[i] = '0' + (data[i]-'0'+1)%10
			require.NoError(t, os.WriteFile(p3, data, 0o644))
		}},
		{"another export's page", func(t *testing.T, dir, p3, p4 string) {
			other := save(t, filepath.Join(t.TempDir(), "o.spool"), key{"b.example", 5}, 3)
			data, err := os.ReadFile(other)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p3, data, 0o644))
		}},
		{"gone", func(t *testing.T, dir, p3, p4 string) {
			require.NoError(t, os.Remove(p3))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "s.spool")
			k := key{"a.example", 5}
			p3 := save(t, dir, k, 3)
			p4 := save(t, dir, k, 4)
			sp, _ := openSpool(t, dir, k)
			tc.damage(t, dir, p3, p4)
			pg, err := sp.Load(ctx, "", step(3))
			require.ErrorIs(t, err, exporter.ErrPageDamaged)
			require.Nil(t, pg)
			pg, err = sp.Load(ctx, "", step(4))
			require.NoError(t, err, "the other page is intact")
			require.Equal(t, fakeRows("a.example", 20)[15:], pg.Rows)
		})
	}
}
