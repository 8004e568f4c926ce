package serpstattest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// grow posts /grow?query=q&rows=n to s, as a person with curl would, and
// returns the status and the body.
func grow(t *testing.T, s *serpstattest.Server, method, query string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(s.URL, "/v4")+serpstattest.GrowPath+query, nil)
	require.NoError(t, err)
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// column is the values of column name of rows, as numbers.
func column(m *serpstat.Method, rows []serpstat.Row, name string) []int64 {
	c := m.ColumnIndex(name)
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.Values[c].Int
	}
	return out
}

// TestGrowUpdatesEveryMethod: rows added through /grow reach every
// method at once: a paged method's total, pages and every sort serve the
// new rows (as Expected says, the old rows first in data-set order); a
// method that is not paged counts them (every count of summary-v2 and
// summary but ranks, each anchor's, combination's, range's and TLD's, the
// newest date's new links), and a short list gets the rows it lacked.
func TestGrowUpdatesEveryMethod(t *testing.T) {
	const before, added = 40, 7
	s := newServer(t, serpstattest.Options{Rows: before})
	for _, m := range backlinks.All {
		t.Run(m.Name, func(t *testing.T) {
			q := "grow-" + m.Name + ".example"
			if !m.Paged() {
				p := notPagedParams(m, q)
				_, old := fetch(t, s, m, p)
				status, body := grow(t, s, http.MethodPost, "?query="+q+"&rows=7")
				require.Equal(t, http.StatusOK, status, "%s", body)
				raw, now := fetch(t, s, m, p)
				require.Equal(t, s.Expected(m, q, p), now.Data, "Expected follows growth: %.300s", raw)
				require.Len(t, now.Data, len(old.Data), "the lists were full already")
				for c, col := range m.Columns {
					if col.Kind != serpstat.KindInt {
						continue
					}
					for i := range now.Data {
						want := int64(added)
						switch {
						case strings.Contains(col.Name, "rank"),
							m == backlinks.ChangesHistory && (col.Name != "new_links" || i != len(now.Data)-1):
							want = 0
						}
						assert.Equal(t, want, now.Data[i].Values[c].Int-old.Data[i].Values[c].Int, "row %d %s", i, col.Name)
					}
				}
				return
			}
			p := methodParams(m, q, 1, 1000)
			_, old := fetch(t, s, m, p)
			require.EqualValues(t, before, old.Summary.Total)
			status, body := grow(t, s, http.MethodPost, "?query="+q+"&rows=7")
			require.Equal(t, http.StatusOK, status, "%s", body)
			_, now := fetch(t, s, m, p)
			assert.EqualValues(t, before+added, now.Summary.Total)
			require.Len(t, now.Data, before+added)
			assert.Equal(t, old.Data, now.Data[:before], "the old rows first, as they were")
			assert.Equal(t, s.Expected(m, q, p), now.Data)
			for _, sort := range m.Sorts {
				for _, order := range []string{"asc", "desc"} {
					p := p
					p.Sort, p.Order = sort, order
					_, page := fetch(t, s, m, p)
					require.Len(t, page.Data, before+added, "%s %s", sort, order)
					assert.Equal(t, s.Expected(m, q, p), page.Data, "sorted %s %s, the new rows among them", sort, order)
					assert.Equal(t, rowSet(now.Data), rowSet(page.Data), "the same rows, %s %s", sort, order)
				}
			}
			// Page 2 of size 25 starts at row 25 and holds the rest.
			p.Page, p.Size = 2, 25
			_, p2 := fetch(t, s, m, p)
			assert.Equal(t, now.Data[25:], p2.Data)
		})
	}
}

// TestGrowShortListsAndEveryQuery: a not-paged list shorter than its
// size (a query with few rows) gets the rows growth adds; growth of
// every query (no query=) reaches a query never grown by name; Grow
// counts in Go as /grow does over HTTP.
func TestGrowShortListsAndEveryQuery(t *testing.T) {
	s := newServer(t, serpstattest.Options{RowsFor: func(string) int { return 3 }})
	m := backlinks.TopAnchors
	p := notPagedParams(m, "few.example")
	_, old := fetch(t, s, m, p)
	require.Len(t, old.Data, 3)
	s.Grow("few.example", 4)
	_, now := fetch(t, s, m, p)
	require.Len(t, now.Data, 7, "top anchors up to 10: the 4 rows added bring 4 anchors")
	assert.Equal(t, s.Expected(m, "few.example", p), now.Data)

	status, body := grow(t, s, http.MethodPost, "?rows=5")
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Equal(t, 3+4+5, s.RowsFor("few.example"))
	assert.Equal(t, 3+5, s.RowsFor("other.example"))
	_, page := fetch(t, s, backlinks.RefDomains, methodParams(backlinks.RefDomains, "other.example", 1, 100))
	assert.EqualValues(t, 8, page.Summary.Total)
	_, sum := fetch(t, s, backlinks.SummaryV2, notPagedParams(backlinks.SummaryV2, "other.example"))
	base := serpstattest.New(serpstattest.Options{RowsFor: func(string) int { return 3 }}).
		Expected(backlinks.SummaryV2, "other.example", notPagedParams(backlinks.SummaryV2, "other.example"))
	assert.Equal(t, int64(5), column(backlinks.SummaryV2, sum.Data, "backlinks")[0]-column(backlinks.SummaryV2, base, "backlinks")[0],
		"summary-v2's backlinks count the 5 rows added to every query")
}

// TestGrowEndpoint: POST /grow adds and answers what was added, GET
// shows it; a bad rows= is 400 and changes nothing; other HTTP methods
// 405; none of it is an API request (Stats and Log do not count it).
func TestGrowEndpoint(t *testing.T) {
	s := newServer(t, serpstattest.Options{Rows: 10})
	var g serpstattest.Growth
	tests := []struct {
		method, query string
		status        int
		want          serpstattest.Growth
	}{
		{http.MethodGet, "", 200, serpstattest.Growth{Rows: 10, Added: map[string]int{}}},
		{http.MethodPost, "?query=a.example&rows=3", 200, serpstattest.Growth{Rows: 10, Added: map[string]int{"a.example": 3}}},
		{http.MethodPost, "?query=a.example&rows=2", 200, serpstattest.Growth{Rows: 10, Added: map[string]int{"a.example": 5}}},
		{http.MethodPost, "?rows=4", 200, serpstattest.Growth{Rows: 10, Every: 4, Added: map[string]int{"a.example": 5}}},
		{http.MethodPost, "?query=a.example&rows=-1", 400, serpstattest.Growth{}},
		{http.MethodPost, "?query=a.example&rows=lots", 400, serpstattest.Growth{}},
		{http.MethodPost, "?query=a.example", 400, serpstattest.Growth{}},
		{http.MethodDelete, "", 405, serpstattest.Growth{}},
		{http.MethodGet, "", 200, serpstattest.Growth{Rows: 10, Every: 4, Added: map[string]int{"a.example": 5}}},
	}
	for _, tt := range tests {
		status, body := grow(t, s, tt.method, tt.query)
		require.Equal(t, tt.status, status, "%s %s: %s", tt.method, tt.query, body)
		if status != 200 {
			continue
		}
		g = serpstattest.Growth{}
		require.NoError(t, json.Unmarshal(body, &g), "%s", body)
		assert.Equal(t, tt.want, g, "%s %s", tt.method, tt.query)
	}
	assert.Equal(t, g, s.Grown())
	assert.Equal(t, 10+4+5, s.RowsFor("a.example"))
	assert.Equal(t, 10+4, s.RowsFor("b.example"))
	assert.Zero(t, s.Stats().Requests, "/grow is not an API request")
	assert.Empty(t, s.Log())
}

// TestInsertedRowsReachMethodsThatAreNotPaged: Options.InsertRows, the
// other way rows arrive mid-run, is counted by summary-v2 too once
// inserted.
func TestInsertedRowsReachMethodsThatAreNotPaged(t *testing.T) {
	const rows, inserted = 30, 6
	s := newServer(t, serpstattest.Options{Rows: rows, InsertRows: inserted, InsertAfter: 1})
	m := backlinks.SummaryV2
	p := notPagedParams(m, "ins.example")
	_, old := fetch(t, s, m, p)
	_, first := fetch(t, s, backlinks.NewBacklinks, page("ins.example", 1, 10))
	require.EqualValues(t, rows, first.Summary.Total, "the first paged answer: nothing inserted yet")
	_, now := fetch(t, s, m, p)
	assert.Equal(t, int64(inserted), column(m, now.Data, "backlinks")[0]-column(m, old.Data, "backlinks")[0])
	assert.Equal(t, s.Expected(m, "ins.example", p), now.Data)
}

// Rows arriving mid-run: Grow adds them to one query, or to every query
// with "", and every method's answers follow (POST /grow does the same).
func ExampleFake_Grow() {
	f := serpstattest.New(serpstattest.Options{Rows: 100})
	f.Grow("example.com", 25)
	fmt.Println(f.RowsFor("example.com"), f.RowsFor("other.example"))
	f.Grow("", 5)
	fmt.Println(f.RowsFor("example.com"), f.RowsFor("other.example"))
	g := f.Grown()
	fmt.Println(g.Every, g.Added)
	// Output:
	// 125 100
	// 130 105
	// 5 map[example.com:25]
}
