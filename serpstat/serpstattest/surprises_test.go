package serpstattest_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// walk fetches every page of m's query p (pages of 1000) and returns its
// rows and the total of its first page.
func walk(t *testing.T, s *serpstattest.Server, m *serpstat.Method, p serpstat.Params) ([]serpstat.Row, int64) {
	t.Helper()
	var rows []serpstat.Row
	var total int64
	for pg := 1; ; pg++ {
		p.Page, p.Size = pg, 1000
		_, page := fetch(t, s, m, p)
		if pg == 1 {
			total = int64(page.Summary.Total)
		}
		if len(page.Data) == 0 {
			return rows, total
		}
		rows = append(rows, page.Data...)
	}
}

// where is one condition of a complexFilter.
func where(field, op string, values ...any) serpstat.Condition {
	return serpstat.Condition{Field: field, CompareType: op, Value: values}
}

func TestIgnoreFiltersAnswersAsWithoutTheirConditions(t *testing.T) {
	const query, rows = "ignore.example", 3000
	tests := []struct {
		name   string
		m      *serpstat.Method
		ignore []string
		filter serpstat.Filter
		want   serpstat.Filter // what the answer must equal, nil: no filter
	}{
		{
			name: "getNewBacklinks add dates", m: backlinks.NewBacklinks, ignore: []string{"add"},
			filter: serpstat.Filter{{where("add", "gte", "1.3.2023"), where("add", "lte", "31.3.2024")}},
		},
		{
			name: "getNewBacklinks add ignored, links_external still filters", m: backlinks.NewBacklinks, ignore: []string{"add"},
			filter: serpstat.Filter{{where("add", "gte", "1.1.2024"), where("links_external", "gte", 100)}},
			want:   serpstat.Filter{{where("links_external", "gte", 100)}},
		},
		{
			name: "getNewBacklinks OR-list: a group of ignored conditions matches every row", m: backlinks.NewBacklinks, ignore: []string{"check", "add"},
			filter: serpstat.Filter{{where("url_from", "startsWith", "https://www.")}, {where("check", "lt", "1.1.2024")}},
		},
		{
			name: "getThreats lastupdate", m: backlinks.Threats, ignore: []string{"lastupdate"},
			filter: serpstat.Filter{{where("lastupdate", "gte", "1.1.2024")}},
		},
		{
			name: "getThreats lastupdate ignored, links_count still filters", m: backlinks.Threats, ignore: []string{"lastupdate"},
			filter: serpstat.Filter{{where("lastupdate", "gte", "1.1.2024"), where("links_count", "lte", 100)}},
			want:   serpstat.Filter{{where("links_count", "lte", 100)}},
		},
		{
			name: "getRefDomains domain_rank", m: backlinks.RefDomains, ignore: []string{"domain_rank"},
			filter: serpstat.Filter{{where("domain_rank", "gte", 50)}},
		},
		{
			name: "getRefDomains domain_rank ignored, domain_links still filters", m: backlinks.RefDomains, ignore: []string{"domain_rank"},
			filter: serpstat.Filter{{where("domain_rank", "between", 10, 40), where("domain_links", "lte", 100)}},
			want:   serpstat.Filter{{where("domain_links", "lte", 100)}},
		},
		{
			name: "all ignores every field", m: backlinks.TopPages, ignore: []string{"all"},
			filter: serpstat.Filter{{where("lastupdate", "gte", "1.1.2024"), where("ips", "gt", 10)}},
		},
		{
			name: "a field the method has not ignores nothing", m: backlinks.RefDomains, ignore: []string{"add"},
			filter: serpstat.Filter{{where("domain_rank", "gte", 50)}},
			want:   serpstat.Filter{{where("domain_rank", "gte", 50)}},
		},
	}
	plain := newServer(t, serpstattest.Options{Rows: rows})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := methodParams(tt.m, query, 1, 1000)
			p.ComplexFilter = tt.filter
			// Without the option, the filter filters: the test means something.
			_, filteredTotal := walk(t, plain, tt.m, p)
			require.Greater(t, filteredTotal, int64(0))
			require.Less(t, filteredTotal, int64(rows), "the filter must split the data set")

			want := p
			want.ComplexFilter = tt.want
			wantRows, wantTotal := walk(t, plain, tt.m, want)
			if tt.want != nil {
				require.Greater(t, wantTotal, int64(0), "the other conditions must match rows")
				require.Less(t, wantTotal, int64(rows), "the other conditions must still filter")
			}

			s := newServer(t, serpstattest.Options{Rows: rows, IgnoreFilters: tt.ignore})
			got, gotTotal := walk(t, s, tt.m, p)
			assert.Equal(t, wantTotal, gotTotal)
			require.Equal(t, wantRows, got)
			assert.Equal(t, wantRows, s.Expected(tt.m, query, p), "Expected ignores the same conditions")
			key := serpstattest.PageKey{Query: query, Page: 1, Size: 1000}
			if tt.m != backlinks.NewBacklinks {
				key.Method = tt.m.Name
			}
			canon, err := json.Marshal(tt.m.NormalizeFilter(tt.filter)) // as the client sends it
			require.NoError(t, err)
			key.Filter = string(canon)
			assert.Equal(t, 1, s.Stats().PagesBilled[key], "pages are billed under the filter as sent")
		})
	}
}

func TestIgnoreFiltersStillRefusesBadValues(t *testing.T) {
	tests := []struct {
		name    string
		m       *serpstat.Method
		ignore  []string
		filter  string
		wantMsg string
	}{
		{"getNewBacklinks add not DD.MM.YYYY", backlinks.NewBacklinks, []string{"add"},
			`[[{"field":"add","compareType":"gte","value":["2024-01-01"]}]]`, "Invalid crawl date"},
		{"getNewBacklinks add without leading zeros", backlinks.NewBacklinks, []string{"add"},
			`[[{"field":"add","compareType":"gte","value":["1.4.2025"]}]]`, "Invalid crawl date"},
		{"getThreats lastupdate not YYYY-MM-DD", backlinks.Threats, []string{"lastupdate"},
			`[[{"field":"lastupdate","compareType":"gte","value":["01.04.2025"]}]]`, "Invalid crawl date"},
		{"getNewBacklinks add between", backlinks.NewBacklinks, []string{"all"},
			`[[{"field":"add","compareType":"between","value":["01.01.2024","02.01.2024"]}]]`, serpstattest.MsgBetween},
		{"getThreats lastupdate not a date", backlinks.Threats, []string{"lastupdate"},
			`[[{"field":"lastupdate","compareType":"gte","value":["yesterday"]}]]`, "Invalid crawl date"},
		{"getRefDomains domain_rank not a number", backlinks.RefDomains, []string{"domain_rank"},
			`[[{"field":"domain_rank","compareType":"gte","value":["high"]}]]`, "Invalid value for field domain_rank"},
		{"getRefDomains domain_rank with a text comparison", backlinks.RefDomains, []string{"all"},
			`[[{"field":"domain_rank","compareType":"contains","value":["5"]}]]`, "Not allowed method contains for field domain_rank"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, serpstattest.Options{Rows: 100, IgnoreFilters: tt.ignore})
			params := `{"query":"bad.example","searchType":"domain","page":1,"size":100,"complexFilter":` + tt.filter + `}`
			var a answer
			require.NoError(t, json.Unmarshal(rawMethodCall(t, s, tt.m.API, json.RawMessage(params)), &a))
			require.NotNil(t, a.Error)
			assert.Equal(t, serpstattest.CodeFilter, a.Error.Code)
			assert.Equal(t, tt.wantMsg, a.Error.Message)
			assert.Zero(t, s.Stats().CreditsBilled)
		})
	}
}

func TestIgnoreFiltersKeepsInsertedRowsFromFilteredRequests(t *testing.T) {
	const q, n, k = "insert.example", 20, 3
	m := backlinks.Threats
	s := newServer(t, serpstattest.Options{Rows: n, InsertRows: k, InsertAfter: 1, IgnoreFilters: []string{"lastupdate"}})
	p := methodParams(m, q, 1, 100)
	_, first := fetch(t, s, m, p)
	require.Len(t, first.Data, n)
	p.ComplexFilter = serpstat.Filter{{where("lastupdate", "gte", "1.1.2000")}}
	_, filtered := fetch(t, s, m, p)
	assert.EqualValues(t, n, filtered.Summary.Total, "a request with a complexFilter sees no new rows, even one that is ignored")
	assert.Equal(t, first.Data, filtered.Data)
}

func TestWallEmpty(t *testing.T) {
	tests := []struct {
		name       string
		opts       serpstattest.Options
		m          *serpstat.Method
		filter     serpstat.Filter
		page, size int
		wantRows   int   // -1: the wall error
		wantTotal  int64 // with the filter, the rows it matches
	}{
		{"page starting at the wall", serpstattest.Options{WallEmpty: true}, backlinks.NewBacklinks, nil, 6, 100, 0, 2000},
		{"page past the wall", serpstattest.Options{WallEmpty: true}, backlinks.NewBacklinks, nil, 9, 100, 0, 2000},
		{"huge page number", serpstattest.Options{WallEmpty: true}, backlinks.NewBacklinks, nil, 1 << 62, 1000, 0, 2000},
		{"page cut by the wall", serpstattest.Options{WallEmpty: true}, backlinks.NewBacklinks, nil, 3, 200, 100, 2000},
		{"page before the wall", serpstattest.Options{WallEmpty: true}, backlinks.NewBacklinks, nil, 5, 100, 100, 2000},
		{"another method", serpstattest.Options{WallEmpty: true}, backlinks.RefDomains, nil, 2, 500, 0, 2000},
		{"with a filter, its total", serpstattest.Options{WallEmpty: true}, backlinks.Threats,
			serpstat.Filter{{where("links_count", "lte", 1000)}}, 2, 500, 0, -1},
		{"without the option, the wall error", serpstattest.Options{}, backlinks.NewBacklinks, nil, 6, 100, -1, 0},
		{"without the option, another method", serpstattest.Options{}, backlinks.RefDomains, nil, 2, 500, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Wall, tt.opts.Rows = 500, 2000
			s := newServer(t, tt.opts)
			p := methodParams(tt.m, "wall.example", tt.page, tt.size)
			p.ComplexFilter = tt.filter
			params, err := tt.m.MarshalParams(p)
			require.NoError(t, err)
			raw := rawMethodCall(t, s, tt.m.API, params)
			st := s.Stats()
			if tt.wantRows < 0 {
				assert.Contains(t, string(raw), `"code":402`)
				assert.Zero(t, st.CreditsBilled, "the wall error is not billed")
				assert.Equal(t, 1, st.ByOutcome[serpstattest.OutcomeWall])
				return
			}
			page, err := tt.m.DecodeAnswer(raw)
			require.NoError(t, err, "%.300s", raw)
			require.Len(t, page.Data, tt.wantRows)
			wantTotal := tt.wantTotal
			if wantTotal < 0 {
				wantTotal = int64(len(s.Expected(tt.m, p.Query, p)))
				require.Less(t, wantTotal, int64(2000), "the filter must split the data set")
				require.Greater(t, wantTotal, int64(500), "the filter must leave rows past the wall")
			}
			assert.EqualValues(t, wantTotal, page.Summary.Total, "total is the full count")
			assert.EqualValues(t, tt.wantRows, page.Summary.Count)
			if tt.wantRows == 0 {
				assert.Contains(t, string(raw), `"data":[]`)
			}
			assert.Equal(t, int64(max(tt.wantRows, 1)), st.CreditsBilled, "billed as any page: 1 when empty")
			assert.Equal(t, 1, st.ByOutcome[serpstattest.OutcomeOK])
			assert.Zero(t, st.ByOutcome[serpstattest.OutcomeWall])
		})
	}
}

func TestWallEmptyAnswersAsAnyEmptyPage(t *testing.T) {
	s := newServer(t, serpstattest.Options{Wall: 500, Rows: 2000, WallEmpty: true, EmptyResult404: true})
	a := call(t, s, page("wall.example", 6, 100))
	require.NotNil(t, a.Error)
	assert.Equal(t, serpstattest.CodeEmptyResult, a.Error.Code)
	assert.Equal(t, int64(1), s.Stats().CreditsBilled)
}
