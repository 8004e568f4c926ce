package serpstattest_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestPageSearchTypes: every method whose spec documents url and part_url
// takes them, and answers the queried page's links: with url every row's
// page (url_to, url_from for the outgoing link methods) is the query,
// with part_url every one starts with it; Expected says the same rows.
func TestPageSearchTypes(t *testing.T) {
	const rows = 30
	page := map[string]string{ // the column naming the queried page
		"new-backlinks": "url_to", "lost-backlinks": "url_to",
		"outlinks": "url_from", "lost-outlinks": "url_from",
		"out-domains": "", "anchors": "",
	}
	tests := []struct {
		searchType, query, prefix string
		exact                     bool
	}{
		{serpstat.SearchURL, "https://example.com/page", "https://example.com/page", true},
		{serpstat.SearchPartURL, "example.com/blog", "https://example.com/blog/", false},
		{serpstat.SearchPartURL, "http://example.com/blog/", "http://example.com/blog/", false},
	}
	for name, col := range page {
		m := backlinks.Lookup(name)
		require.NotNil(t, m)
		require.Contains(t, m.SearchTypes, serpstat.SearchURL, name)
		require.Contains(t, m.SearchTypes, serpstat.SearchPartURL, name)
		for _, tt := range tests {
			t.Run(name+"/"+tt.searchType+"/"+tt.query, func(t *testing.T) {
				s := newServer(t, serpstattest.Options{Rows: rows})
				p := serpstat.Params{Query: tt.query, SearchType: tt.searchType, Page: 1, Size: rows}
				_, pg := fetch(t, s, m, p)
				require.Len(t, pg.Data, rows)
				assert.Equal(t, s.Expected(m, tt.query, p), pg.Data)
				if col == "" {
					return
				}
				c := m.ColumnIndex(col)
				other := m.ColumnIndex(map[string]string{"url_to": "url_from", "url_from": "url_to"}[col])
				for i, r := range pg.Data {
					if tt.exact {
						assert.Equal(t, tt.query, r.Values[c].Str, "row %d", i)
					} else {
						assert.True(t, strings.HasPrefix(r.Values[c].Str, tt.prefix), "row %d: %s", i, r.Values[c].Str)
					}
					assert.NotContains(t, r.Values[other].Str, "example.com", "row %d: the other end is another site", i)
				}
			})
		}
	}
	t.Run("methods without them refuse them", func(t *testing.T) {
		for _, m := range backlinks.Methods {
			if _, ok := page[m.Name]; ok || m.SearchTypes == nil {
				continue
			}
			assert.NotContains(t, m.SearchTypes, serpstat.SearchURL, m.Name)
			assert.NotContains(t, m.SearchTypes, serpstat.SearchPartURL, m.Name)
		}
	})
}

// TestAnchorsParams: getAnchors' anchor and count select rows (anchor
// held in any case, exactly count words), the total counts them, pages
// walk them, Expected says the same rows, and the log records the params
// as sent.
func TestAnchorsParams(t *testing.T) {
	const query, rows = "anchors.example", 400
	m := backlinks.Anchors
	col := m.ColumnIndex("anchor")
	all := newServer(t, serpstattest.Options{Rows: rows}).Expected(m, query, methodParams(m, query, 1, 10))
	tests := []struct {
		name  string
		extra map[string]string
		keep  func(anchor string) bool
	}{
		{"count 2", map[string]string{"count": "2"}, func(a string) bool { return len(strings.Fields(a)) == 2 }},
		{"count 1", map[string]string{"count": "1"}, func(a string) bool { return len(strings.Fields(a)) == 1 }},
		{"anchor in any case", map[string]string{"anchor": "SEO"}, func(a string) bool { return strings.Contains(strings.ToLower(a), "seo") }},
		{"both", map[string]string{"anchor": "e", "count": "3"}, func(a string) bool {
			return strings.Contains(strings.ToLower(a), "e") && len(strings.Fields(a)) == 3
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, serpstattest.Options{Rows: rows})
			var want []serpstat.Row
			for _, r := range all {
				if tt.keep(r.Values[col].Str) {
					want = append(want, r)
				}
			}
			require.NotEmpty(t, want)
			require.Less(t, len(want), rows, "the params select rows")
			p := methodParams(m, query, 1, 100)
			p.Extra = tt.extra
			require.Equal(t, want, s.Expected(m, query, p))
			var got []serpstat.Row
			for pg := 1; len(got) < len(want); pg++ {
				p.Page = pg
				_, page := fetch(t, s, m, p)
				require.EqualValues(t, len(want), page.Summary.Total)
				require.NotEmpty(t, page.Data)
				got = append(got, page.Data...)
			}
			assert.Equal(t, want, got)
			for _, e := range s.Log() {
				assert.Equal(t, tt.extra, e.Params.Extra, "the log records the params sent")
			}
		})
	}
}
