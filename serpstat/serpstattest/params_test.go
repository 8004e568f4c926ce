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
