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

	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

type key struct {
	Query string `json:"query"`
	Size  int    `json:"size"`
}

func TestSpoolRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s.spool")
	sp, err := exporter.OpenSpool(dir, key{"a.example", 1000})
	require.NoError(t, err)
	rows := fakeRows("a.example", 30)
	pg := &pager.Page{N: 3, Page: 3, Size: 1000, Rows: rows, Billed: 30, Summary: serpstat.SummaryInfo{Total: 2030, LeftLines: 99}}
	require.NoError(t, sp.Save(pg))
	require.NoError(t, sp.Close())

	// A temporary file a killed run left behind is not a page.
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".page-000004.json.tmp-123"), []byte("{"), 0o644))

	sp, err = exporter.OpenSpool(dir, key{"a.example", 1000})
	require.NoError(t, err)
	defer sp.Close()
	assert.Equal(t, []int{3}, sp.Stored())
	got, err := sp.Load(3)
	require.NoError(t, err)
	assert.Equal(t, rows, got.Rows)
	assert.True(t, got.Spooled)
	assert.Equal(t, pg.Summary, got.Summary)
	assert.EqualValues(t, 30, got.Billed)
	missing, err := sp.Load(4)
	require.NoError(t, err)
	assert.Nil(t, missing)
}

func TestSpoolRefusesAnotherExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s.spool")
	sp, err := exporter.OpenSpool(dir, key{"a.example", 1000})
	require.NoError(t, err)
	require.NoError(t, sp.Close())
	_, err = exporter.OpenSpool(dir, key{"a.example", 500})
	require.ErrorIs(t, err, exporter.ErrSpoolMismatch)
	require.NoError(t, exporter.RemoveSpool(dir))
	sp, err = exporter.OpenSpool(dir, key{"a.example", 500})
	require.NoError(t, err)
	require.NoError(t, sp.Close())
}

func TestSpoolIsLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s.spool")
	sp, err := exporter.OpenSpool(dir, key{"a.example", 1000})
	require.NoError(t, err)
	_, err = exporter.OpenSpool(dir, key{"a.example", 1000})
	require.ErrorIs(t, err, exporter.ErrSpoolBusy)
	require.NoError(t, sp.Close())
	sp, err = exporter.OpenSpool(dir, key{"a.example", 1000})
	require.NoError(t, err)
	require.NoError(t, sp.Close())
}

func TestRemoveSpoolNeverWipesOtherDirectories(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("x"), 0o644))
	require.Error(t, exporter.RemoveSpool(dir))
	_, err := os.Stat(filepath.Join(dir, "precious.txt"))
	require.NoError(t, err)
	require.NoError(t, exporter.RemoveSpool(filepath.Join(dir, "none")))
}

func TestResumeFromCheckpointPaysNothingTwice(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10000})
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "s.spool")

	// A first run stopped by its budget after four pages...
	sp, err := exporter.OpenSpool(dir, key{"resume.example", 1000})
	require.NoError(t, err)
	c := &collect{}
	e := &exporter.Exporter{Pager: newPager(srv, "resume.example", 1000, 4500), Sinks: []exporter.Sink{c}, Workers: 3, Partial: true, Checkpoint: sp}
	_, err = e.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, c.rows, 4000)
	require.NoError(t, sp.Close())

	// ...and its resume: the four pages come from the spool. --budget
	// caps the export in all: 6000 more do not fit with 4000 spent...
	sp, err = exporter.OpenSpool(dir, key{"resume.example", 1000})
	require.NoError(t, err)
	e = &exporter.Exporter{Pager: newPager(srv, "resume.example", 1000, 6000), Sinks: []exporter.Sink{&collect{}}, Workers: 3, Checkpoint: sp}
	rep, err := e.Run(context.Background())
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	assert.EqualValues(t, 4000, rep.CreditsEarlier)
	assert.EqualValues(t, 4000, rep.CreditsInAll)
	assert.EqualValues(t, 10000, rep.CreditsEstimated)
	assert.EqualValues(t, 6000, rep.CreditsLeft, "the stored pages are not needed again")
	require.NoError(t, sp.Close())

	// ...10000 do.
	sp, err = exporter.OpenSpool(dir, key{"resume.example", 1000})
	require.NoError(t, err)
	defer sp.Close()
	c = &collect{}
	e = &exporter.Exporter{Pager: newPager(srv, "resume.example", 1000, 10000), Sinks: []exporter.Sink{c}, Workers: 3, Checkpoint: sp}
	rep, err = e.Run(context.Background())
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
	sp, err := exporter.OpenSpool(filepath.Join(t.TempDir(), "s.spool"), key{"stop.example", 1000})
	require.NoError(t, err)
	defer sp.Close()
	c := &collect{}
	e := &exporter.Exporter{Pager: newPager(srv, "stop.example", 1000, 0), Sinks: []exporter.Sink{c}, Workers: 1, Checkpoint: sp, Stop: stop}
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
	p := newPager(srv, "drift.example", 1000, 0)
	p.Fetcher = &drifting{f: p.Fetcher, k: 3, query: "drift.example"}
	c := &collect{}
	e := &exporter.Exporter{Pager: p, Sinks: []exporter.Sink{c}, Workers: 4}
	rep, err := e.Run(context.Background())
	require.NoError(t, err)
	want := fakeRows("drift.example", 5000)[:5000-3]
	require.Equal(t, want, c.rows, "every row once, in order")
	assert.EqualValues(t, 3, rep.Duplicates, "the 3 rows pushed from page 1 into page 2")
	assert.Equal(t, 5003, rep.LastTotal)
}

func TestSpoolDamagedPagesAreNeverTrusted(t *testing.T) {
	save := func(t *testing.T, dir string, k key, n int) string {
		sp, err := exporter.OpenSpool(dir, k)
		require.NoError(t, err)
		defer sp.Close()
		rows := fakeRows("a.example", 5*n)[5*(n-1):]
		require.NoError(t, sp.Save(&pager.Page{N: n, Page: n, Size: 5, Rows: rows, Billed: 5}))
		return filepath.Join(dir, fmt.Sprintf("page-%06d.json", n))
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
			i := bytes.LastIndex(data, []byte(`"domain_rank":`))
			data[i+len(`"domain_rank":`)] ^= 1
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
			sp, err := exporter.OpenSpool(dir, k)
			require.NoError(t, err)
			defer sp.Close()
			tc.damage(t, dir, p3, p4)
			pg, err := sp.Load(3)
			require.ErrorIs(t, err, exporter.ErrPageDamaged)
			require.Nil(t, pg)
			pg, err = sp.Load(4)
			require.NoError(t, err, "the other page is intact")
			require.Equal(t, fakeRows("a.example", 20)[15:], pg.Rows)
		})
	}
}
