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
// rows, and the same with inserted new rows on top. The pages in early
// are answered from the starting version, every other request from the
// new one, as when answers race an insertion: page 6 answered before the
// new rows came, page 5 after.
type versioned struct {
	query    string
	rows     int
	inserted int
	early    map[int]bool // plan pages answered before the insertion
	// later, when set, is how many rows re-reads (requests of another
	// size than 100) see inserted: more rows came meanwhile.
	later int
}

func (v *versioned) Fetch(_ context.Context, meth *serpstat.Method, p serpstat.Params) (*serpstat.Page, error) {
	inserted := v.inserted
	if p.Size != 100 && v.later > 0 {
		inserted = v.later
	}
	all := fakeRows(v.query, v.rows+inserted)
	list := all[:v.rows]
	if !v.early[p.Page] || p.Size != 100 {
		list = append(append([]serpstat.Row{}, all[v.rows:]...), list...)
	}
	off := (p.Page - 1) * p.Size
	end := min(off+p.Size, len(list))
	page := &serpstat.Page{Summary: serpstat.SummaryInfo{Total: serpstat.Int(len(list)), Page: serpstat.Int(p.Page), Count: serpstat.Int(max(0, end-off))}}
	if off < end {
		page.Data = list[off:end]
	}
	return page, nil
}

func TestLiveDataJunctionAnsweredOutOfOrderIsReread(t *testing.T) {
	// Pages 1..4 and 6.. are answered before 150 rows were inserted on
	// top, page 5 after: page 5 repeats rows of pages 3 and 4, and the
	// rows 400..499 of the starting list sit in no page at all.
	early := map[int]bool{}
	for n := 1; n <= 30; n++ {
		early[n] = n != 5
	}
	p := &pager.Pager{
		Fetcher: &versioned{query: "live.example", rows: 3000, inserted: 150, early: early},
		Params:  serpstat.Params{Query: "live.example", Size: 100},
		Budget:  pager.NewBudget(0),
	}
	c := &collect{}
	e := &exporter.Exporter{Pager: p, Sinks: []exporter.Sink{c}, Workers: 1}
	rep, err := e.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, fakeRows("live.example", 3000), c.rows, "every starting row once, in order")
	assert.EqualValues(t, 100, rep.Duplicates, "page 5's rows were written by pages 3 and 4")
	assert.Positive(t, rep.Reread)
	assert.Zero(t, rep.InDoubt)
}

func TestLiveDataUnprovenJunctionFails(t *testing.T) {
	early := map[int]bool{}
	for n := 1; n <= 30; n++ {
		early[n] = n != 5
	}
	p := &pager.Pager{
		// So many rows came before the re-read that no window of 1000
		// rows spans the junction any more.
		Fetcher: &versioned{query: "live.example", rows: 3000, inserted: 150, early: early, later: 1500},
		Params:  serpstat.Params{Query: "live.example", Size: 100},
		Budget:  pager.NewBudget(0),
	}
	e := &exporter.Exporter{Pager: p, Sinks: []exporter.Sink{&collect{}}, Workers: 1}
	rep, err := e.Run(context.Background())
	require.ErrorIs(t, err, exporter.ErrUnproven)
	assert.EqualValues(t, 150, rep.InDoubt)
	assert.Equal(t, exporter.StopUnproven, rep.StopReason)
}

// fullDisk is a checkpoint whose writes fail after the first ok pages.
type fullDisk struct {
	mu    sync.Mutex
	ok    int
	saved int
}

func (d *fullDisk) Load(int) (*pager.Page, error) { return nil, nil }
func (d *fullDisk) Stored() []int                 { return nil }
func (d *fullDisk) Save(*pager.Page) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.saved >= d.ok {
		return errors.New("write page: no space left on device")
	}
	d.saved++
	return nil
}

func TestDiskFullStopsDispatchingAndCountsWhatCouldNotBeKept(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 30000})
	defer srv.Close()
	c := &collect{}
	cp := &fullDisk{ok: 3}
	e := &exporter.Exporter{Pager: newPager(srv, "full.example", 1000, 0), Sinks: []exporter.Sink{c}, Workers: 2, Checkpoint: cp}
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
