package exporter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// listFetcher serves rows of any method from memory, with no filters,
// the wall as the API draws it, and every param checked against the
// method's descriptor; it counts the credits it bills.
type listFetcher struct {
	mu      sync.Mutex // the exporter's workers call it at once
	rows    []serpstat.Row
	wall    int
	billed  int64
	methods map[string]int
}

func (f *listFetcher) Fetch(_ context.Context, m *serpstat.Method, p serpstat.Params) (*serpstat.Page, error) {
	if err := m.Validate(p); err != nil {
		return nil, &serpstat.Error{Code: 32117, Message: err.Error()}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.methods == nil {
		f.methods = map[string]int{}
	}
	f.methods[m.API]++
	off := (p.Page - 1) * p.Size
	if off >= f.wall {
		return nil, &serpstat.Error{Code: 32001, Message: "You can't get more than 60000 results"}
	}
	end := min(off+p.Size, len(f.rows), f.wall)
	pg := &serpstat.Page{Summary: serpstat.SummaryInfo{Total: serpstat.Int(len(f.rows)), Page: serpstat.Int(p.Page)}}
	if off < end {
		pg.Data = f.rows[off:end]
	}
	f.billed += int64(max(1, len(pg.Data)))
	return pg, nil
}

// threatRows are rows of threats: lists, nulls and, every third row, an
// unknown key (every fifth, two).
func threatRows(n int) []serpstat.Row {
	rows := make([]serpstat.Row, n)
	for i := range rows {
		r := serpstat.Row{Values: []serpstat.Value{
			{Str: fmt.Sprintf("bad%04d.example", i)}, {Str: "https://bad.example/" + fmt.Sprint(i)}, {Int: int64(i % 17)},
			{List: []string{"windows", "linux"}[:1+i%2]}, {List: []string{}}, {Str: "2024-01-02"},
		}}
		if i%4 == 0 {
			r.Values[1] = serpstat.Value{Null: true}
		}
		switch {
		case i%15 == 0:
			r.Extra = json.RawMessage(`{"score":1.5,"tags":["a"]}`)
		case i%3 == 0:
			r.Extra = json.RawMessage(`{"score":` + fmt.Sprint(i) + `}`)
		}
		rows[i] = r
	}
	return rows
}

func genericPager(f pager.Fetcher, m *serpstat.Method, wall int) *pager.Pager {
	return pager.New(pager.Config{
		Fetcher: f, Method: m, Wall: wall,
		Params: serpstat.Params{Query: "generic.example", SearchType: serpstat.SearchDomain, Size: 100},
		Sleep:  noSleep,
	})
}

// TestAMethodWithoutSlicingFieldsStopsAtTheWall: over the wall, a method
// with no slicing dimension is not sliced: the run exports the first
// wall rows, bills exactly them, and reports the rest unreachable (a
// wall stop, as --no-slice).
func TestAMethodWithoutSlicingFieldsStopsAtTheWall(t *testing.T) {
	th := backlinks.Threats
	m := serpstat.Method{Name: th.Name, API: th.API, Columns: th.Columns, Extra: th.Extra, SearchTypes: th.SearchTypes,
		Sorts: th.Sorts, Filters: th.Filters, LinkPerDomain: th.LinkPerDomain, Cursor: th.Cursor, AppendSort: th.AppendSort}
	const total, wall = 1234, 500
	f := &listFetcher{rows: threatRows(total), wall: wall}
	c := &collect{}
	rep, err := (&exporter.Exporter{Pager: genericPager(f, &m, wall), Sinks: []exporter.Sink{c}}).Run(context.Background())
	require.NoError(t, err)
	assert.False(t, rep.Sliced)
	assert.Equal(t, exporter.StopWall, rep.StopReason)
	assert.Equal(t, total-wall, rep.Unreachable)
	assert.Equal(t, f.rows[:wall], c.rows)
	assert.EqualValues(t, wall, rep.Rows)
	assert.Equal(t, f.billed, rep.Credits, "billed = credits counted")
	assert.EqualValues(t, wall, f.billed, "billed = rows")
	assert.Equal(t, "threats", rep.Method)
}

// TestUnknownKeysAreCountedPerRow: the report counts, for each unknown
// key, the rows written that held it; the rows keep them in Extra.
func TestUnknownKeysAreCountedPerRow(t *testing.T) {
	const total = 450
	f := &listFetcher{rows: threatRows(total), wall: 60000}
	c := &collect{}
	rep, err := (&exporter.Exporter{Pager: genericPager(f, backlinks.Threats, 60000), Sinks: []exporter.Sink{c}}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, f.rows, c.rows)
	assert.Equal(t, map[string]int64{"score": 150, "tags": 30}, rep.UnknownKeys)
	assert.EqualValues(t, total, f.billed)
	assert.Equal(t, map[string]int{backlinks.Threats.API: 5}, f.methods, "only the method's API is called")
}

// TestSpoolKeepsGenericRows: every kind of value, nulls, empty and
// missing lists, floats (whole ones too) and unknown keys come back from
// the spool as they went in, and a resume writes the same rows.
func TestSpoolKeepsGenericRows(t *testing.T) {
	rows := threatRows(40)
	rows = append(rows,
		serpstat.Row{Values: []serpstat.Value{{Float: 3}, {Float: -0.125}, {Float: 1e21}, {Str: "<&>\"\\ \u2028 кириллица"}, {}, {Null: true}}},
		serpstat.Row{Values: []serpstat.Value{{Int: -7}, {Int: 1 << 60}, {List: []string{""}}, {Str: "0"}, {Str: "1.5"}, {Str: "null"}}},
	)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "g.spool")
	sp, st := openSpool(t, dir, key{"generic.example", 100})
	first := pager.Step{Page: 1, Size: 100}
	require.NoError(t, sp.Save(ctx, "", &pager.Page{N: 1, Step: first, Rows: rows, Billed: int64(len(rows)), Intersect: map[string]string{"links_count_1": "a.com"}}))
	require.NoError(t, st.Close())
	sp, _ = openSpool(t, dir, key{"generic.example", 100})
	got, err := sp.Load(ctx, "", first)
	require.NoError(t, err)
	assert.Equal(t, rows, got.Rows)
	assert.Equal(t, map[string]string{"links_count_1": "a.com"}, got.Intersect)
}

// TestExportOtherMethodsAgainstTheFake: ref-domains, anchors and threats
// exported whole through the engine against the strict fake: under the
// wall in API order, over it sliced; every row once, and the credits
// counted are the fake's bill.
func TestExportOtherMethodsAgainstTheFake(t *testing.T) {
	for _, m := range []*serpstat.Method{backlinks.RefDomains, backlinks.Anchors, backlinks.Threats, backlinks.LostBacklinks} {
		for _, wall := range []int{60000, 700} {
			t.Run(fmt.Sprintf("%s/wall %d", m.Name, wall), func(t *testing.T) {
				const total = 2345
				srv := serpstattest.NewServer(serpstattest.Options{Rows: total})
				defer srv.Close()
				cfg := config(srv, "methods.example", 500)
				cfg.Method, cfg.Wall = m, wall
				p := pager.New(cfg)
				c := &collect{}
				rep, err := (&exporter.Exporter{Pager: p, Sinks: []exporter.Sink{c}, Now: sliceNow}).Run(context.Background())
				require.NoError(t, err)
				want := srv.Expected(m, "methods.example", p.Params())
				require.Len(t, want, total)
				if wall > total {
					assert.Equal(t, want, c.rows, "in API order")
					assert.EqualValues(t, total, rep.Credits, "billed = rows")
				} else {
					assert.True(t, rep.Sliced)
					requireSameSet(t, want, c.rows)
					assert.Equal(t, rep.CreditsEstimated, rep.Credits, "billed as planned")
					// Page 1's rows are written first and never bought
					// again where a slice provably holds them (its bounds
					// can be tested on their values); the others are
					// bought with their slice and dropped there.
					reused := 0
					for _, s := range rep.Slices {
						reused += s.Reused
					}
					t.Logf("%d slices, %d probes, %d of page 1's rows reused", len(rep.Slices), rep.Probes, reused)
					assert.Equal(t, int64(total)+rep.ProbeCredits+int64(500-reused), rep.Credits, "billed = the rows, the size-1 probes and page 1's rows no slice provably holds")
				}
				assert.Equal(t, srv.Stats().CreditsBilled, rep.Credits, "the credits counted are the fake's bill")
				assert.EqualValues(t, total, rep.Rows)
				assert.Equal(t, m.Name, rep.Method)
			})
		}
	}
}
