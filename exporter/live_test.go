package exporter_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// versioned answers from two versions of a query's rows: the starting
// rows, and the same with inserted new rows on top, which come when page
// at is asked. The first answer of page stale still comes from the
// starting version (a lagging replica): page 6 answered before the new
// rows came, page 5 after. Every other answer comes from the newest
// version.
type versioned struct {
	query     string
	rows      int
	inserted  int
	at, stale int
	// later, when set, is how many rows every answer after stale's sees
	// inserted: more rows came meanwhile.
	later int

	mu        sync.Mutex // the exporter's workers and its writer call at once
	now       int        // rows inserted so far
	staleDone bool
}

func (v *versioned) Fetch(_ context.Context, meth *serpstat.Method, p serpstat.Params) (*serpstat.Page, error) {
	v.mu.Lock()
	if p.Page == v.at && v.now == 0 {
		v.now = v.inserted
	}
	inserted := v.now
	if p.Page == v.stale && !v.staleDone {
		v.staleDone, inserted = true, 0
		if v.later > 0 {
			v.now = v.later
		}
	}
	v.mu.Unlock()
	all := fakeRows(v.query, v.rows+inserted)
	list := append(append([]serpstat.Row{}, all[v.rows:]...), all[:v.rows]...)
	off := (p.Page - 1) * p.Size
	end := min(off+p.Size, len(list))
	page := &serpstat.Page{Summary: serpstat.SummaryInfo{Total: serpstat.Int(len(list)), Page: serpstat.Int(p.Page), Count: serpstat.Int(max(0, end-off))}}
	if off < end {
		page.Data = list[off:end]
	}
	return page, nil
}

func TestLiveDataJunctionAnsweredOutOfOrderIsReread(t *testing.T) {
	// Pages 1..4 and 6 are answered before 150 rows were inserted on top,
	// page 5 after: page 5 repeats rows of pages 3 and 4, and the rows
	// 400..499 of the starting list sit in no page at all.
	p := pager.New(pager.Config{
		Fetcher: &versioned{query: "live.example", rows: 3000, inserted: 150, at: 5, stale: 6},
		Params:  serpstat.Params{Query: "live.example", Size: 100},
	})
	c := &collect{}
	e := &exporter.Exporter{Pager: p, Sinks: []exporter.Sink{c}, Workers: 1}
	rep, err := e.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, fakeRows("live.example", 3000), c.rows, "every starting row once, in order")
	// Page 5's 100 rows were written by pages 3 and 4; the re-read of
	// the junction (offsets 500..699 of the new list) brought 50 rows
	// before the missing ones; pages 7 and 8, shifted by 150, repeat 150.
	assert.EqualValues(t, 300, rep.Duplicates)
	assert.EqualValues(t, 200+150, rep.Reread, "two pages to prove the junction, 150 rows pushed past the planned end")
	assert.Zero(t, rep.InDoubt)
}

func TestLiveDataUnprovenJunctionFails(t *testing.T) {
	p := pager.New(pager.Config{
		// So many rows came before the re-reads that the pages the
		// junction's gap allows them (and a few more) never reach page
		// 6's first row.
		Fetcher: &versioned{query: "live.example", rows: 3000, inserted: 150, at: 5, stale: 6, later: 1500},
		Params:  serpstat.Params{Query: "live.example", Size: 100},
	})
	e := &exporter.Exporter{Pager: p, Sinks: []exporter.Sink{&collect{}}, Workers: 1}
	rep, err := e.Run(context.Background())
	require.ErrorIs(t, err, exporter.ErrUnproven)
	assert.EqualValues(t, 150, rep.InDoubt)
	assert.Equal(t, exporter.StopUnproven, rep.StopReason)
}

// fullDisk is a checkpoint whose page writes fail after the first ok
// pages; it stores nothing.
type fullDisk struct {
	mu    sync.Mutex
	ok    int
	saved int
}

var _ exporter.Checkpoint = (*fullDisk)(nil)

func (d *fullDisk) Stored(string) []pager.Step { return nil }
func (d *fullDisk) Load(context.Context, string, pager.Step) (*pager.Page, error) {
	return nil, nil
}
func (d *fullDisk) Save(context.Context, string, *pager.Page) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.saved >= d.ok {
		return errors.New("write page: no space left on device")
	}
	d.saved++
	return nil
}
func (d *fullDisk) SaveRaw(context.Context, string, pager.Step, int64, []byte) error { return nil }
func (d *fullDisk) LoadRaw(context.Context, string, pager.Step) ([]byte, int64, bool, error) {
	return nil, 0, false, nil
}
func (d *fullDisk) Total(context.Context, string) (int, bool)           { return 0, false }
func (d *fullDisk) SetTotal(context.Context, string, int) error         { return nil }
func (d *fullDisk) SaveMeta(context.Context, string, any) error         { return nil }
func (d *fullDisk) LoadMeta(context.Context, string, any) (bool, error) { return false, nil }
func (d *fullDisk) LoadSpent(context.Context) (int64, int, error)       { return 0, 0, nil }
func (d *fullDisk) SaveSpent(context.Context, int64, int) error         { return nil }

func TestDiskFullStopsDispatchingAndCountsWhatCouldNotBeKept(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 30000})
	defer srv.Close()
	c := &collect{}
	cp := &fullDisk{ok: 3}
	e := &exporter.Exporter{Pager: newPager(srv, "full.example", 1000), Sinks: []exporter.Sink{c}, Workers: 2, Checkpoint: cp}
	rep, err := e.Run(context.Background())
	require.Error(t, err)
	require.Contains(t, err.Error(), "no space left on device")
	billed := srv.Stats().CreditsBilled
	// It stopped at the first failed write: the pages stored, the one
	// that failed and at most the ones in flight then.
	assert.LessOrEqual(t, billed, int64(1000*(cp.ok+1+2)), "no request after the first failed write but those in flight")
	assert.EqualValues(t, billed-int64(1000*cp.ok), rep.Unkept, "every page paid for and not stored is counted")
	// Every answer that arrived was written to the outputs, in order.
	require.Equal(t, fakeRows("full.example", len(c.rows)), c.rows)
	assert.EqualValues(t, billed, len(c.rows))
	t.Logf("billed %d, unkept %d", billed, rep.Unkept)
}
