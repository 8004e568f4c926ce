package pager_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// meddler is a Fetcher in front of the strict fake that changes what the
// API does with some filters, as a real API that applies one otherwise
// than documented would.
type meddler struct {
	f pager.Fetcher
	// refuse answers 32117 to any filter naming one of these fields.
	refuse []string
	// extra is added to the total of an answer whose filter holds this
	// text (in its JSON).
	extraFor string
	extra    int
	// ignore drops every complexFilter: an API that ignores them.
	ignore bool
}

func (m *meddler) Fetch(ctx context.Context, meth *serpstat.Method, p serpstat.Params) (*serpstat.Page, error) {
	js, _ := json.Marshal(p.ComplexFilter)
	for _, f := range m.refuse {
		if strings.Contains(string(js), `"field":"`+f+`"`) {
			return nil, &serpstat.Error{Code: 32117, Message: "Not allowed field: " + f}
		}
	}
	if m.ignore {
		p.ComplexFilter = nil
	}
	pg, err := m.f.Fetch(ctx, meth, p)
	if err == nil && m.extraFor != "" && strings.Contains(string(js), m.extraFor) {
		pg.Summary.Total += serpstat.Int(m.extra)
	}
	return pg, err
}

func slicePager(t *testing.T, opts serpstattest.Options, query string, wall int, m *meddler) (*pager.Pager, *serpstattest.Server) {
	t.Helper()
	srv := serpstattest.NewServer(opts)
	t.Cleanup(srv.Close)
	var f pager.Fetcher = &serpstat.Client{Endpoint: srv.URL, Token: serpstattest.DefaultToken}
	if m != nil {
		m.f = f
		f = m
	}
	return pager.New(pager.Config{Fetcher: f, Wall: wall, Params: serpstat.Params{Query: query, SearchType: serpstat.SearchDomain, Size: 100}}), srv
}

// sliceRows fetches every row of every slice, all pages.
func sliceRows(t *testing.T, p *pager.Pager, sp *pager.SlicePlan) []string {
	t.Helper()
	var rows []string
	for _, sl := range sp.Slices {
		pt := pager.NewPart(sl.Total, p.Size(), p.Wall(), 0, 0)
		params := sl.Params(p.Method(), p.Params())
		for _, st := range pt.Steps {
			pg, err := p.Get(context.Background(), pager.Session{}, pager.Request{N: st.Page, Params: params, Step: st, Cost: st.Cost(sl.Total)})
			require.NoError(t, err)
			rows = append(rows, rowKeys(pg.Rows)...)
		}
	}
	return rows
}

// planSlices plans p's query of total rows, probes without a budget.
func planSlices(t *testing.T, p *pager.Pager, total int) *pager.SlicePlan {
	t.Helper()
	sp, err := p.PlanSlices(context.Background(), pager.Session{}, total, pager.SliceOptions{Today: now})
	require.NoError(t, err)
	return sp
}

// TestSlicesUseOnlyDocumentedFilters plans a query with a day over the
// wall against the strict fake: no probe is refused, every condition is a
// documented form, and the slices partition the rows exactly.
func TestSlicesUseOnlyDocumentedFilters(t *testing.T) {
	const total, wall = 3000, 400
	p, srv := slicePager(t, serpstattest.Options{Rows: total, SameDayShare: 0.4}, "documented.example", wall, nil)
	sp := planSlices(t, p, total)
	assert.Zero(t, sp.InDoubt)
	assert.Zero(t, sp.Unreachable)
	assert.Empty(t, sp.Refused)
	assert.Equal(t, total, sp.Sum())
	assert.Zero(t, srv.Stats().ByOutcome[serpstattest.OutcomeInvalid], "no probe refused")
	var linkType, nofollow, links bool
	for _, s := range sp.Slices {
		require.LessOrEqual(t, s.Total, wall, s.Label())
		for _, c := range s.Conds(p.Method()) {
			switch c.Field {
			case "add":
				require.Contains(t, []string{"gte", "lte"}, c.CompareType)
			case "links_external":
				links = true
				require.Contains(t, []string{"gte", "lte", "between"}, c.CompareType)
			case "link_type":
				linkType = true
				require.Contains(t, backlinks.NewBacklinks.Filter("link_type").Values, c.Value[0])
			case "link_nofollow":
				nofollow = true
				require.Contains(t, []string{"follow", "nofollow", "ugc", "sponsored"}, c.Value[0])
			}
		}
	}
	assert.True(t, links, "a day over the wall is split by links_external")
	t.Logf("%d slices, %d probes, %d probe credits; link_type used: %v, link_nofollow used: %v", len(sp.Slices), sp.Probes, sp.ProbeCredits, linkType, nofollow)

	rows := sliceRows(t, p, sp)
	want := map[string]int{}
	for _, r := range rows {
		want[r]++
	}
	require.Len(t, rows, total)
	for r, n := range want {
		require.Equal(t, 1, n, "row %+v", r)
	}
}

// TestSlicesByEnumValues: with a wall so low that links_external runs out,
// link_type and then link_nofollow split by their documented values plus a
// remainder, and still partition the rows.
func TestSlicesByEnumValues(t *testing.T) {
	const total, wall = 300, 3
	p, _ := slicePager(t, serpstattest.Options{RowsFor: func(string) int { return total }}, serpstattest.OneDayPrefix+"enum.example", wall, nil)
	sp := planSlices(t, p, total)
	assert.Zero(t, sp.InDoubt)
	assert.Equal(t, total, sp.Sum())
	var enum bool
	for _, s := range sp.Slices {
		enum = enum || s.Bound("link_type") != nil
	}
	assert.True(t, enum, "link_type split what links_external could not")
	var neq []any
	for _, c := range (pager.Slice{Bounds: []pager.Bound{{Field: "link_type", Kind: serpstat.KindString, Value: pager.Other}}}).Conds(p.Method()) {
		require.Equal(t, "link_type", c.Field)
		require.Equal(t, "neq", c.CompareType)
		neq = append(neq, c.Value...)
	}
	require.ElementsMatch(t, neq, []any{"text", "redirect", "iframe", "form", "canonical", "rss", "alternate", "image"}, "the remainder is neq every documented value")
	rows := sliceRows(t, p, sp)
	seen := map[string]bool{}
	for _, r := range rows {
		require.False(t, seen[r], "a row in two slices")
		seen[r] = true
	}
	assert.Len(t, rows, total)
}

// TestSlicesThatDoNotAddUp: the API answers one part's total otherwise
// than its rows: that split is dropped at once (NoEffect, logged), the
// part is split along the next dimension, and the slices still partition
// the query, rather than inferring totals or splitting again and again.
func TestSlicesThatDoNotAddUp(t *testing.T) {
	const total, wall = 3000, 1000
	m := &meddler{extraFor: `"gte","value":["01.01.2000"]`, extra: 7}
	p, _ := slicePager(t, serpstattest.Options{Rows: total}, "doubt.example", wall, m)
	sp := planSlices(t, p, total)
	require.Len(t, sp.NoEffect, 1)
	assert.Equal(t, pager.NoEffect{Field: "add", Slice: "all", Parent: total, Sum: total + 7}, sp.NoEffect[0])
	assert.Zero(t, sp.InDoubt, "links_external split the query instead")
	assert.Equal(t, total, sp.Sum())
	for _, s := range sp.Slices {
		assert.Nil(t, s.Bound("add"), "%s: never split by the filter that did not add up", s.Label())
	}
}

// TestFiltersWithNoEffectCostTwoProbesEach: an API that ignores every
// slicing filter answers each part with its parent's total. Each
// dimension is dropped after its first two probes (their totals add up
// to more than the parent), and the query is left unsplit, its rows past
// the wall in doubt: slicing spends a few credits, not the query's rows.
func TestFiltersWithNoEffectCostTwoProbesEach(t *testing.T) {
	const total, wall = 2345, 1000
	p, srv := slicePager(t, serpstattest.Options{Rows: total}, "ignored.example", wall, &meddler{ignore: true})
	sp := planSlices(t, p, total)
	dims := len(pager.Dims(p.Method()))
	assert.Equal(t, 2*dims, sp.Probes, "two probes a dimension")
	assert.EqualValues(t, 2*dims, sp.ProbeCredits)
	assert.EqualValues(t, 2*dims, srv.Stats().CreditsBilled)
	assert.Len(t, sp.NoEffect, dims)
	require.Len(t, sp.Slices, 1)
	assert.True(t, sp.Slices[0].Unsplittable)
	assert.True(t, sp.Slices[0].InDoubt)
	assert.Equal(t, total-wall, sp.InDoubt)
	assert.Zero(t, sp.Unreachable)
}

// TestProbesStopAtTheirAllowance: probing stops at ProbeAllowance; what
// is left unsplit is in doubt, and no probe is sent past it.
func TestProbesStopAtTheirAllowance(t *testing.T) {
	const total, wall = 3000, 3
	p, srv := slicePager(t, serpstattest.Options{Rows: total}, "allowance.example", wall, nil)
	sp := planSlices(t, p, total)
	assert.True(t, sp.Exhausted)
	assert.LessOrEqual(t, sp.ProbeCredits, pager.ProbeAllowance(total, p.Size(), len(pager.Dims(p.Method()))))
	assert.Positive(t, sp.InDoubt)
	assert.EqualValues(t, sp.ProbeCredits, srv.Stats().CreditsBilled)
}

// TestSlicingFallsBackWhenAFilterIsRefused: a 32117 answer to a slicing
// filter is not the user's error: slicing goes on without that dimension.
func TestSlicingFallsBackWhenAFilterIsRefused(t *testing.T) {
	const total, wall = 600, 250
	m := &meddler{refuse: []string{"links_external"}}
	p, _ := slicePager(t, serpstattest.Options{RowsFor: func(string) int { return total }}, serpstattest.OneDayPrefix+"refused.example", wall, m)
	sp := planSlices(t, p, total)
	assert.Equal(t, []string{"links_external"}, sp.Refused)
	assert.Zero(t, sp.InDoubt)
	assert.Equal(t, total, sp.Sum())
	for _, s := range sp.Slices {
		assert.Nil(t, s.Bound("links_external"), s.Label())
	}
	assert.True(t, slices.ContainsFunc(sp.Slices, func(s pager.Slice) bool { return s.Bound("link_type") != nil }))
}

// TestSlicingByLastVisitedDate: when links_external, link_type and
// link_nofollow are all refused, a day over the wall is split by
// last-visited date (check gte/lte), and the slices still partition it.
func TestSlicingByLastVisitedDate(t *testing.T) {
	const total, wall = 600, 100
	m := &meddler{refuse: []string{"links_external", "link_type", "link_nofollow"}}
	p, _ := slicePager(t, serpstattest.Options{RowsFor: func(string) int { return total }}, serpstattest.OneDayPrefix+"check.example", wall, m)
	sp := planSlices(t, p, total)
	assert.Equal(t, []string{"links_external", "link_type", "link_nofollow"}, sp.Refused)
	assert.Zero(t, sp.InDoubt)
	assert.Zero(t, sp.Unreachable)
	assert.Equal(t, total, sp.Sum())
	for _, s := range sp.Slices {
		require.NotNil(t, s.Bound("check"), s.Label())
		require.LessOrEqual(t, s.Total, wall, s.Label())
	}
	rows := sliceRows(t, p, sp)
	seen := map[string]bool{}
	for _, r := range rows {
		require.False(t, seen[r], "a row in two slices")
		seen[r] = true
	}
	assert.Len(t, rows, total)
}

// rowKeys are rows as comparable keys, to count them.
func rowKeys(rows []serpstat.Row) []string {
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = fmt.Sprintf("%+v", r)
	}
	return keys
}

// TestRowsAgainstSliceBounds: which slice holds a row is told from its
// values where a bound can be tested on them (dates against a date column,
// numbers against a number column); a null, or a bound no column tests,
// never counts against a row (Holds) and never proves it in (Contains).
func TestRowsAgainstSliceBounds(t *testing.T) {
	m := backlinks.NewBacklinks
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	row := func(firstSeen string, links int64, null bool) serpstat.Row {
		vals := make([]serpstat.Value, len(m.Columns))
		vals[m.ColumnIndex("first_seen")] = serpstat.Value{Str: firstSeen}
		vals[m.ColumnIndex("links_ext")] = serpstat.Value{Int: links, Null: null}
		return serpstat.Row{Values: vals}
	}
	add := pager.Bound{Field: "add", Kind: serpstat.KindDate, From: day("2024-01-01"), To: day("2024-01-31")}
	links := pager.Bound{Field: "links_external", Kind: serpstat.KindInt, Lo: 0, Hi: 63}
	linkType := pager.Bound{Field: "link_type", Kind: serpstat.KindString, Value: "text"}
	dims := pager.Dims(m)
	for _, tt := range []struct {
		name            string
		s               pager.Slice
		r               serpstat.Row
		holds, contains bool
	}{
		{"in the date range", pager.Slice{Bounds: []pager.Bound{add}}, row("2024-01-31", 5, false), true, true},
		{"after it", pager.Slice{Bounds: []pager.Bound{add}}, row("2024-02-01", 5, false), false, false},
		{"date and number", pager.Slice{Bounds: []pager.Bound{add, links}}, row("2024-01-15", 63, false), true, true},
		{"number past the range", pager.Slice{Bounds: []pager.Bound{add, links}}, row("2024-01-15", 64, false), false, false},
		{"a null number", pager.Slice{Bounds: []pager.Bound{add, links}}, row("2024-01-15", 0, true), true, false},
		{"an enumeration no column tests", pager.Slice{Bounds: []pager.Bound{add, linkType}}, row("2024-01-15", 1, false), true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, _ := tt.s.Holds(m, &tt.r)
			assert.Equal(t, tt.holds, ok)
			assert.Equal(t, tt.contains, tt.s.Contains(dims, pager.PointOf(m, dims, &tt.r)))
		})
	}
	assert.True(t, pager.Slice{Bounds: []pager.Bound{add, links}}.Checkable(m))
	assert.False(t, pager.Slice{Bounds: []pager.Bound{add, linkType}}.Checkable(m))
}
