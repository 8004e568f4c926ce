package pager_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// memFetcher serves one method's rows from memory, applying the
// complexFilter conditions slicing sends (gte, lte, eq, neq on a filter
// field's column, AND-ed within a group, groups OR-ed), the wall, and
// checking every param against the descriptor as the real API would.
type memFetcher struct {
	rows     []serpstat.Row
	wall     int
	requests int
	credits  int
	filters  []serpstat.Filter // every complexFilter sent
}

func (f *memFetcher) Fetch(_ context.Context, m *serpstat.Method, p serpstat.Params) (*serpstat.Page, error) {
	if err := m.Validate(p); err != nil {
		return nil, &serpstat.Error{Code: 32117, Message: err.Error()}
	}
	f.requests++
	f.filters = append(f.filters, p.ComplexFilter)
	var match []serpstat.Row
	for _, r := range f.rows {
		if matches(m, p.ComplexFilter, r) {
			match = append(match, r)
		}
	}
	off := (p.Page - 1) * p.Size
	if off+p.Size > f.wall && off >= f.wall {
		return nil, &serpstat.Error{Code: 32001, Message: "You can't get more than 60000 results"}
	}
	end := min(off+p.Size, len(match), f.wall)
	pg := &serpstat.Page{Summary: serpstat.SummaryInfo{Total: serpstat.Int(len(match)), Page: serpstat.Int(p.Page)}}
	if off < end {
		pg.Data = match[off:end]
	}
	f.credits += max(1, len(pg.Data))
	return pg, nil
}

func matches(m *serpstat.Method, f serpstat.Filter, r serpstat.Row) bool {
	if len(f) == 0 {
		return true
	}
	for _, g := range f {
		ok := true
		for _, c := range g {
			ff := m.Filter(c.Field)
			v := r.Values[m.ColumnIndex(ff.Column)]
			var want int64
			switch x := c.Value[0].(type) {
			case int64:
				want = x
			case int:
				want = int64(x)
			case string:
				want, _ = strconv.ParseInt(x, 10, 64)
			}
			switch c.CompareType {
			case "gte":
				ok = ok && v.Int >= want
			case "lte":
				ok = ok && v.Int <= want
			case "eq":
				ok = ok && v.Int == want
			case "neq":
				ok = ok && v.Int != want
			default:
				panic("unexpected compareType " + c.CompareType)
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// refDomainRows are n rows of ref-domains: domain_rank 0..9, ref_pages
// spread over 1..5000, and a domain each.
func refDomainRows(n int) []serpstat.Row {
	rows := make([]serpstat.Row, n)
	for i := range rows {
		rows[i] = serpstat.Row{Values: []serpstat.Value{
			{Str: fmt.Sprintf("d%05d.example", i)},
			{Int: int64(1 + (i*7919)%5000)},
			{Int: int64((i * 31) % 10)},
		}}
	}
	return rows
}

// TestGenericSlicingByAnIntegerField: ref-domains slices by domain_rank
// (then domain_links) as gte/lte ranges, never by another method's
// fields; the slices partition the query and every row comes once.
func TestGenericSlicingByAnIntegerField(t *testing.T) {
	const total, wall = 2000, 100
	m := backlinks.RefDomains
	f := &memFetcher{rows: refDomainRows(total), wall: wall}
	p := pager.New(pager.Config{Fetcher: f, Method: m, Wall: wall, Params: serpstat.Params{Query: "ref.example", SearchType: serpstat.SearchDomain, Size: 100}})
	sp := planSlices(t, p, total)
	assert.Zero(t, sp.InDoubt)
	assert.Zero(t, sp.Unreachable)
	assert.Empty(t, sp.Refused)
	assert.Equal(t, total, sp.Sum())
	byLinks := false
	for _, s := range sp.Slices {
		require.LessOrEqual(t, s.Total, wall, s.Label())
		require.NotNil(t, s.Bound("domain_rank"), "%s: domain_rank is the first dimension", s.Label())
		byLinks = byLinks || s.Bound("domain_links") != nil
		for _, c := range s.Conds(m) {
			require.Contains(t, []string{"domain_rank", "domain_links"}, c.Field)
			require.Contains(t, []string{"gte", "lte"}, c.CompareType)
		}
	}
	assert.True(t, byLinks, "a single domain_rank over the wall is split by domain_links")
	rows := sliceRows(t, p, sp)
	require.Len(t, rows, total)
	seen := map[string]bool{}
	for _, r := range rows {
		require.False(t, seen[r], "a row in two slices")
		seen[r] = true
	}
	assert.ElementsMatch(t, rowKeys(f.rows), rows)
}

// TestShouldSliceNeedsASlicingField: the one decision to slice is off for
// a method without slicing fields, for --no-slice, and under the wall.
func TestShouldSliceNeedsASlicingField(t *testing.T) {
	rd := backlinks.RedirectedDomains
	none := serpstat.Method{Name: rd.Name, API: rd.API, Columns: rd.Columns, Extra: rd.Extra, Sorts: rd.Sorts, Filters: rd.Filters}
	for _, tt := range []struct {
		name    string
		m       *serpstat.Method
		total   int
		maxRows int
		noSlice bool
		want    bool
	}{
		{"over the wall", backlinks.RefDomains, 1000, 0, false, true},
		{"no-slice", backlinks.RefDomains, 1000, 0, true, false},
		{"under the wall", backlinks.RefDomains, 400, 0, false, false},
		{"no slicing field", &none, 1000, 0, false, false},
		{"max-rows under the wall", backlinks.RefDomains, 1000, 500, false, false},
		{"max-rows past the wall", backlinks.RefDomains, 1000, 501, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := pager.New(pager.Config{Method: tt.m, Wall: 500, MaxRows: tt.maxRows})
			assert.Equal(t, tt.want, p.ShouldSlice(tt.total, tt.noSlice))
		})
	}
	assert.Empty(t, pager.Dims(&none))
	assert.Equal(t, []string{"follow", "nofollow", "ugc", "sponsored"}, dimValues(backlinks.NewBacklinks, "link_nofollow"), "numeric aliases of the named values are not sliced twice")
}

func dimValues(m *serpstat.Method, field string) []string {
	i := slices.IndexFunc(pager.Dims(m), func(d pager.Dim) bool { return d.Field == field })
	return pager.Dims(m)[i].Values
}

// TestGenericSlicingAgainstTheFake: ref-domains and threats sliced past
// the wall against the strict fake, which refuses any param or filter the
// method does not document: nothing refused, the slices add up, and the
// rows are the query's, each once.
func TestGenericSlicingAgainstTheFake(t *testing.T) {
	for _, m := range []*serpstat.Method{backlinks.RefDomains, backlinks.Threats, backlinks.TopPages} {
		t.Run(m.Name, func(t *testing.T) {
			const total, wall = 2000, 300
			srv := serpstattest.NewServer(serpstattest.Options{Rows: total})
			t.Cleanup(srv.Close)
			p := pager.New(pager.Config{Fetcher: &serpstat.Client{Endpoint: srv.URL, Token: serpstattest.DefaultToken}, Method: m, Wall: wall,
				Params: serpstat.Params{Query: "sliced.example", SearchType: serpstat.SearchDomain, Size: 100}})
			sp := planSlices(t, p, total)
			assert.Empty(t, sp.Refused)
			assert.Zero(t, sp.InDoubt)
			assert.Zero(t, sp.Unreachable)
			assert.Equal(t, total, sp.Sum())
			assert.Zero(t, srv.Stats().ByOutcome[serpstattest.OutcomeInvalid], "no probe refused")
			rows := sliceRows(t, p, sp)
			want := rowKeys(srv.Expected(m, "sliced.example", p.Params()))
			assert.ElementsMatch(t, want, rows)
			t.Logf("%s: %d slices, %d probes, %d probe credits", m.Name, len(sp.Slices), sp.Probes, sp.ProbeCredits)
		})
	}
}
