package serpstattest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// answer is a decoded answer of the fake.
type answer struct {
	ID     json.RawMessage `json:"id"`
	Result *struct {
		Data    []serpstattest.Backlink `json:"data"`
		Summary serpstat.SummaryInfo    `json:"summary_info"`
	} `json:"result"`
	Error *serpstat.Error `json:"error"`
}

// post sends body to url with token in the "token" header (none if "") and
// returns the status and the body.
func post(t *testing.T, url, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// call sends a getNewBacklinks request with params and decodes the answer.
func call(t *testing.T, s *serpstattest.Server, params any) answer {
	t.Helper()
	body, err := json.Marshal(serpstat.Request{ID: "1", Method: backlinks.NewBacklinks.API, Params: params})
	require.NoError(t, err)
	status, b := post(t, s.URL, serpstattest.DefaultToken, string(body))
	require.Equal(t, http.StatusOK, status, string(b))
	var a answer
	require.NoError(t, json.Unmarshal(b, &a), string(b))
	require.True(t, (a.Result == nil) != (a.Error == nil), "exactly one of result and error: %s", b)
	return a
}

func newServer(t *testing.T, opts serpstattest.Options) *serpstattest.Server {
	t.Helper()
	s := serpstattest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

func page(query string, page, size int) serpstat.Params {
	return serpstat.Params{Query: query, SearchType: serpstat.SearchDomain, Page: page, Size: size}
}

func TestBilling(t *testing.T) {
	tests := []struct {
		name       string
		opts       serpstattest.Options
		page, size int
		wantRows   int
		wantTotal  int
		wantNoData bool
	}{
		{"full page", serpstattest.Options{}, 1, 100, 100, 2500, false},
		{"max size", serpstattest.Options{}, 2, 1000, 1000, 2500, false},
		{"last partial page", serpstattest.Options{Rows: 250}, 3, 100, 50, 250, false},
		{"past the end", serpstattest.Options{}, 30, 100, 0, 2500, false},
		{"no rows at all", serpstattest.Options{RowsFor: func(string) int { return 0 }}, 1, 100, 0, 0, false},
		{"no data as error", serpstattest.Options{Rows: 10, NoDataAsError: true}, 2, 100, 0, 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.opts)
			a := call(t, s, page("example.com", tt.page, tt.size))
			wantCredits := int64(max(tt.wantRows, 1))
			if tt.wantNoData {
				require.NotNil(t, a.Error)
				assert.Equal(t, serpstattest.CodeNoData, a.Error.Code)
				assert.Equal(t, serpstattest.MsgNoData, a.Error.Message)
				assert.Equal(t, serpstat.ClassNoData, a.Error.Class())
			} else {
				require.Nil(t, a.Error)
				sum := a.Result.Summary
				require.Len(t, a.Result.Data, tt.wantRows)
				assert.NotNil(t, a.Result.Data, `empty data must be [], not null`)
				assert.EqualValues(t, tt.wantRows, sum.Count)
				assert.EqualValues(t, tt.wantTotal, sum.Total)
				assert.EqualValues(t, tt.page, sum.Page)
				assert.Equal(t, "check", sum.Sort)
				assert.Equal(t, "DESC", sum.Order)
				assert.EqualValues(t, serpstattest.DefaultBalance-wantCredits, sum.LeftLines)
			}
			st := s.Stats()
			assert.Equal(t, wantCredits, st.CreditsBilled)
			assert.Equal(t, tt.wantRows, st.RowsServed)
			assert.Equal(t, serpstattest.DefaultBalance-wantCredits, s.Balance())
			assert.Equal(t, map[serpstattest.PageKey]int{{Query: "example.com", Page: tt.page, Size: tt.size}: 1}, st.PagesBilled)

			// The same page again is billed again.
			call(t, s, page("example.com", tt.page, tt.size))
			assert.Equal(t, 2*wantCredits, s.Stats().CreditsBilled)
		})
	}
}

func TestSortOrderEchoed(t *testing.T) {
	s := newServer(t, serpstattest.Options{Rows: 5})
	p := page("example.com", 1, 5)
	p.Sort, p.Order = "url_from", "asc"
	a := call(t, s, p)
	require.Nil(t, a.Error)
	assert.Equal(t, "url_from", a.Result.Summary.Sort)
	assert.Equal(t, "ASC", a.Result.Summary.Order)
	want := serpstattest.Rows("example.com", 5)
	slices.SortStableFunc(want, func(a, b serpstattest.Backlink) int { return strings.Compare(a.URLFrom, b.URLFrom) })
	assert.Equal(t, want, a.Result.Data, "rows are served sorted as asked")
}

func TestDefaults(t *testing.T) {
	s := newServer(t, serpstattest.Options{})
	a := call(t, s, map[string]any{"query": "example.com", "searchType": "domain_with_subdomains"})
	require.Nil(t, a.Error)
	assert.Len(t, a.Result.Data, serpstattest.DefaultPageSize)
	assert.EqualValues(t, 1, a.Result.Summary.Page)
	assert.Equal(t, 1, s.Stats().PagesBilled[serpstattest.PageKey{Query: "example.com", Page: 1, Size: 100}])
}

func TestWall(t *testing.T) {
	tests := []struct {
		name       string
		wall, rows int
		page, size int
		wantRows   int // -1: the wall error
	}{
		{"last page before the wall", 0, 100000, 60, 1000, 1000},
		{"first page past the wall", 0, 100000, 61, 1000, -1},
		{"page cut by the wall", 0, 100000, 86, 700, 500},
		{"page starting past the wall", 0, 100000, 87, 700, -1},
		{"past the wall with fewer rows", 0, 10, 61, 1000, -1},
		{"huge page number", 0, 100000, 1 << 62, 1000, -1},
		{"custom wall", 500, 2000, 5, 100, 100},
		{"custom wall reached", 500, 2000, 6, 100, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, serpstattest.Options{Wall: tt.wall, Rows: tt.rows})
			a := call(t, s, page("example.com", tt.page, tt.size))
			if tt.wantRows < 0 {
				require.NotNil(t, a.Error)
				assert.Equal(t, serpstattest.CodeWall, a.Error.Code)
				assert.Equal(t, fmt.Sprintf("To get more than %d results use export report methods", s.Wall()), a.Error.Message)
				assert.Equal(t, serpstat.ClassWall, a.Error.Class())
				assert.Zero(t, s.Stats().CreditsBilled, "the wall error is not billed")
				return
			}
			require.Nil(t, a.Error)
			assert.Len(t, a.Result.Data, tt.wantRows)
			assert.EqualValues(t, tt.rows, a.Result.Summary.Total, "total is the full count, past the wall")
		})
	}
}

func TestAuth(t *testing.T) {
	body := `{"id":"7","method":"SerpstatBacklinksProcedure.getNewBacklinks","params":{"query":"example.com","searchType":"domain","size":10}}`
	tests := []struct {
		name       string
		header     string
		query      string
		wantCode   int
		wantMsg    string
		wantBilled int64
	}{
		{"missing", "", "", serpstattest.CodeMissingToken, serpstattest.MsgMissingToken, 0},
		{"wrong header", "nope", "", serpstattest.CodeInvalidToken, serpstattest.MsgInvalidToken, 0},
		{"wrong query", "", "?token=nope", serpstattest.CodeInvalidToken, serpstattest.MsgInvalidToken, 0},
		{"header", "secret", "", 0, "", 10},
		{"query string", "", "?token=secret", 0, "", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, serpstattest.Options{Token: "secret"})
			status, b := post(t, s.URL+tt.query, tt.header, body)
			require.Equal(t, http.StatusOK, status)
			var a answer
			require.NoError(t, json.Unmarshal(b, &a))
			if tt.wantCode != 0 {
				require.NotNil(t, a.Error, string(b))
				assert.Equal(t, tt.wantCode, a.Error.Code)
				assert.Equal(t, tt.wantMsg, a.Error.Message)
				assert.Equal(t, serpstat.ClassAuth, a.Error.Class())
				assert.Equal(t, 1, s.Stats().ByOutcome[serpstattest.OutcomeAuth])
			} else {
				require.Nil(t, a.Error, string(b))
			}
			assert.Equal(t, tt.wantBilled, s.Stats().CreditsBilled)
		})
	}
}

func TestPaths(t *testing.T) {
	s := newServer(t, serpstattest.Options{Rows: 3})
	base := strings.TrimSuffix(s.URL, "/v4")
	for _, path := range []string{"/v4", "/v4/", "/"} {
		status, b := post(t, base+path, serpstattest.DefaultToken, `{"id":"1","method":"SerpstatLimitsProcedure.getStats"}`)
		assert.Equal(t, http.StatusOK, status, path)
		assert.Contains(t, string(b), `"result"`, path)
	}
}

func TestRateLimit(t *testing.T) {
	s := newServer(t, serpstattest.Options{RPS: 1})
	first := call(t, s, page("example.com", 1, 10))
	require.Nil(t, first.Error)
	second := call(t, s, page("example.com", 2, 10))
	require.NotNil(t, second.Error)
	assert.Equal(t, serpstattest.CodeRateLimited, second.Error.Code)
	assert.Equal(t, serpstattest.MsgRateLimited, second.Error.Message)
	assert.True(t, second.Error.RateLimited())
	st := s.Stats()
	assert.Equal(t, 1, st.RateLimited)
	assert.Equal(t, int64(10), st.CreditsBilled, "the over-rate answer is not billed")
	assert.Equal(t, 1, st.ByOutcome[serpstattest.OutcomeRateLimited])
}

func TestIDEchoedAsString(t *testing.T) {
	s := newServer(t, serpstattest.Options{Rows: 1})
	tests := []struct{ sent, want string }{
		{`"abc"`, `"abc"`},
		{`123`, `"123"`},
		{`1.5`, `"1.5"`},
		{`null`, `""`},
	}
	for _, tt := range tests {
		t.Run(tt.sent, func(t *testing.T) {
			_, b := post(t, s.URL, serpstattest.DefaultToken,
				`{"id":`+tt.sent+`,"method":"SerpstatBacklinksProcedure.getNewBacklinks","params":{"query":"a.com","searchType":"domain"}}`)
			var a answer
			require.NoError(t, json.Unmarshal(b, &a))
			assert.Equal(t, tt.want, string(a.ID))
		})
	}
	// Error answers echo it too.
	_, b := post(t, s.URL, "", `{"id":42,"method":"x"}`)
	assert.True(t, strings.HasPrefix(string(b), `{"id":"42","error":`), string(b))
}

func TestBadRequests(t *testing.T) {
	s := newServer(t, serpstattest.Options{})
	tests := []struct {
		name     string
		body     string
		wantCode int
		wantMsg  string
	}{
		{"malformed json", `{"id":"1","method":`, serpstattest.CodeSchema, serpstattest.MsgSchema},
		{"not an object", `[1,2]`, serpstattest.CodeSchema, serpstattest.MsgSchema},
		{"unknown method", `{"id":"1","method":"SerpstatBacklinksProcedure.nope","params":{}}`, serpstattest.CodeMethodNotFound, serpstattest.MsgMethodNotFound},
		{"no params", `{"id":"1","method":"SerpstatBacklinksProcedure.getNewBacklinks"}`, serpstattest.CodeSchema, serpstattest.MsgSchema},
		{"page not a number", `{"id":"1","method":"SerpstatBacklinksProcedure.getNewBacklinks","params":{"query":"a.com","searchType":"domain","page":"2"}}`, serpstattest.CodeSchema, serpstattest.MsgSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b := post(t, s.URL, serpstattest.DefaultToken, tt.body)
			require.Equal(t, http.StatusOK, status)
			var a answer
			require.NoError(t, json.Unmarshal(b, &a), string(b))
			require.NotNil(t, a.Error, string(b))
			assert.Equal(t, tt.wantCode, a.Error.Code)
			assert.Equal(t, tt.wantMsg, a.Error.Message)
		})
	}
	assert.Zero(t, s.Stats().CreditsBilled)
}

func TestValidation(t *testing.T) {
	valid := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{"query": "example.com", "searchType": "domain", "page": 1, "size": 10}
		edit(m)
		return m
	}
	cond := func(field, cmp string, values ...any) map[string]any {
		return map[string]any{"field": field, "compareType": cmp, "value": values}
	}
	filter := func(c ...map[string]any) func(m map[string]any) {
		return func(m map[string]any) { m["complexFilter"] = [][]map[string]any{c} }
	}
	tests := []struct {
		name     string
		params   map[string]any
		wantCode int // 0: accepted
		wantMsg  string
	}{
		{"ok", valid(func(map[string]any) {}), 0, ""},
		{"order upper-case", valid(func(m map[string]any) { m["order"] = "DESC" }), 0, ""},
		{"additional filters accepted", valid(filter(map[string]any{"additional_filters": "no_subdomains"})), 0, ""},
		{"no query", valid(func(m map[string]any) { delete(m, "query") }), 400, serpstattest.MsgSchema},
		{"no searchType", valid(func(m map[string]any) { delete(m, "searchType") }), 400, serpstattest.MsgSchema},
		{"bad searchType", valid(func(m map[string]any) { m["searchType"] = "page" }), 400, serpstattest.MsgSchema},
		{"searchType url", valid(func(m map[string]any) { m["searchType"] = "url"; m["query"] = "https://example.com/page" }), 0, ""},
		{"searchType part_url", valid(func(m map[string]any) { m["searchType"] = "part_url"; m["query"] = "example.com/blog/" }), 0, ""},
		{"between on dates", valid(filter(cond("add", "between", "01.01.2024", "31.01.2024"))), 32117, serpstattest.MsgBetween},
		{"between on check dates", valid(filter(cond("check", "between", "01.01.2024", "31.01.2024"))), 32117, serpstattest.MsgBetween},
		{"between on numbers", valid(filter(cond("links_external", "between", 1, 5))), 0, ""},
		{"gte and lte on dates", valid(filter(cond("add", "gte", "01.01.2024"), cond("add", "lte", "31.01.2024"))), 0, ""},
		{"link_type answer value", valid(filter(cond("link_type", "eq", "href"))), 32117, "Not allowed value href for field link_type"},
		{"link_type frame", valid(filter(cond("link_type", "neq", "frame"))), 32117, "Not allowed value frame for field link_type"},
		{"link_type documented", valid(filter(cond("link_type", "neq", "text", "redirect", "iframe", "form", "canonical", "rss", "alternate", "image"))), 0, ""},
		{"link_nofollow undocumented", valid(filter(cond("link_nofollow", "eq", "dofollow"))), 32117, "Not allowed value dofollow for field link_nofollow"},
		{"link_nofollow documented", valid(filter(cond("link_nofollow", "eq", "follow", "nofollow", "ugc", "sponsored"))), 0, ""},
		{"link_nofollow code", valid(filter(cond("link_nofollow", "eq", "4"))), 0, ""},
		{"bad sort", valid(func(m map[string]any) { m["sort"] = "first_seen" }), 400, serpstattest.MsgSchema},
		{"bad order", valid(func(m map[string]any) { m["order"] = "up" }), 400, serpstattest.MsgSchema},
		{"page 0", valid(func(m map[string]any) { m["page"] = 0 }), 400, serpstattest.MsgSchema},
		{"size 0", valid(func(m map[string]any) { m["size"] = 0 }), 400, serpstattest.MsgSchema},
		{"size 1001", valid(func(m map[string]any) { m["size"] = 1001 }), 400, serpstattest.MsgSchema},
		{"filter not an array", valid(func(m map[string]any) { m["complexFilter"] = map[string]any{} }), 400, serpstattest.MsgSchema},
		{"bad field", valid(filter(cond("domain_rank", "gt", 1))), 32117, "Not allowed field: domain_rank"},
		{"bad additional filter", valid(filter(map[string]any{"additional_filters": "nope"})), 32117, "Not allowed field: nope"},
		{"bad compareType", valid(filter(cond("url_from", "like", "a"))), 32117, "Not allowed method like for field url_from"},
		{"number method on text", valid(filter(cond("anchor", "gt", "a"))), 32117, "Not allowed method gt for field anchor"},
		{"text method on number", valid(filter(cond("links_external", "contains", "1"))), 32117, "Not allowed method contains for field links_external"},
		{"no value", valid(filter(cond("url_from", "contains"))), 32117, "Field value is required"},
		{"between one value", valid(filter(cond("links_external", "between", 1))), 32117, "Field value is required"},
		{"bad date", valid(filter(cond("add", "gt", "2024-01-01"))), 32117, "Invalid crawl date"},
		{"impossible date", valid(filter(cond("check", "lt", "31.02.2024"))), 32117, "Invalid crawl date"},
		{"bad number", valid(filter(cond("links_external", "gt", "many"))), 32117, "Invalid value for field links_external"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, serpstattest.Options{})
			a := call(t, s, tt.params)
			if tt.wantCode == 0 {
				require.Nil(t, a.Error)
				return
			}
			require.NotNil(t, a.Error)
			assert.Equal(t, tt.wantCode, a.Error.Code)
			assert.Equal(t, tt.wantMsg, a.Error.Message)
			assert.Equal(t, serpstat.ClassInvalid, a.Error.Class())
			assert.Zero(t, s.Stats().CreditsBilled)
		})
	}
}

func TestFilter(t *testing.T) {
	const query, rows = "filter.example", 5000
	all := serpstattest.Rows(query, rows)
	tests := []struct {
		name   string
		filter serpstat.Filter
		keep   func(b serpstattest.Backlink) bool
	}{
		{
			name:   "date range as gte and lte, inclusive",
			filter: serpstat.Filter{{{Field: "add", CompareType: "gte", Value: []any{"01.03.2023"}}, {Field: "add", CompareType: "lte", Value: []any{"31.03.2023"}}}},
			keep:   func(b serpstattest.Backlink) bool { return b.FirstSeen >= "2023-03-01" && b.FirstSeen <= "2023-03-31" },
		},
		{
			name:   "startsWith",
			filter: serpstat.Filter{{{Field: "url_from", CompareType: "startsWith", Value: []any{"https://www."}}}},
			keep:   func(b serpstattest.Backlink) bool { return strings.HasPrefix(b.URLFrom, "https://www.") },
		},
		{
			name: "OR of AND",
			filter: serpstat.Filter{
				{
					{Field: "link_nofollow", CompareType: "eq", Value: []any{"nofollow"}},
					{Field: "links_external", CompareType: "gte", Value: []any{100}},
				},
				{
					{Field: "anchor", CompareType: "contains", Value: []any{"\n"}},
					{Field: "check", CompareType: "lt", Value: []any{"01.01.2024"}},
				},
			},
			keep: func(b serpstattest.Backlink) bool {
				return b.Nofollow == "nofollow" && b.LinksExt >= 100 ||
					strings.Contains(b.LinkText, "\n") && b.LastVisited < "2024-01-01"
			},
		},
		{
			name:   "links_external between two numbers",
			filter: serpstat.Filter{{{Field: "links_external", CompareType: "between", Value: []any{10, 20}}}},
			keep:   func(b serpstattest.Backlink) bool { return b.LinksExt >= 10 && b.LinksExt <= 20 },
		},
		{
			name:   "link_nofollow code",
			filter: serpstat.Filter{{{Field: "link_nofollow", CompareType: "eq", Value: []any{"2"}}}},
			keep:   func(b serpstattest.Backlink) bool { return b.Nofollow == "ugc" },
		},
		{
			name:   "link_type filter alias",
			filter: serpstat.Filter{{{Field: "link_type", CompareType: "eq", Value: []any{"text", "iframe"}}}},
			keep:   func(b serpstattest.Backlink) bool { return b.LinkType == "href" || b.LinkType == "frame" },
		},
		{
			name:   "notContains and endsWith",
			filter: serpstat.Filter{{{Field: "url_to", CompareType: "endsWith", Value: []any{"/"}}, {Field: "anchor", CompareType: "notContains", Value: []any{"e", "a"}}}},
			keep: func(b serpstattest.Backlink) bool {
				return strings.HasSuffix(b.URLTo, "/") && !strings.ContainsAny(b.LinkText, "ea")
			},
		},
		{
			name:   "additional filters are ignored",
			filter: serpstat.Filter{{{Field: "add", CompareType: "gte", Value: []any{"01.01.2024"}}, {AdditionalFilters: "only_main_page"}}},
			keep:   func(b serpstattest.Backlink) bool { return b.FirstSeen >= "2024-01-01" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []serpstattest.Backlink
			for _, b := range all {
				if tt.keep(b) {
					want = append(want, b)
				}
			}
			require.NotEmpty(t, want)
			require.Less(t, len(want), rows, "the filter must split the data set")

			s := newServer(t, serpstattest.Options{Rows: rows})
			const size = 1000
			var got []serpstattest.Backlink
			for p := 1; ; p++ {
				params := page(query, p, size)
				params.ComplexFilter = tt.filter
				a := call(t, s, params)
				require.Nil(t, a.Error)
				assert.EqualValues(t, len(want), a.Result.Summary.Total)
				if len(a.Result.Data) == 0 {
					break
				}
				got = append(got, a.Result.Data...)
			}
			assert.Equal(t, want, got)
			canon, err := json.Marshal(tt.filter)
			require.NoError(t, err)
			assert.Equal(t, 1, s.Stats().PagesBilled[serpstattest.PageKey{Query: query, Page: 1, Size: size, Filter: string(canon)}])
		})
	}
}

func TestDateSlicesPartition(t *testing.T) {
	const query, rows = "slices.example", 20000
	s := newServer(t, serpstattest.Options{Rows: rows})
	sum := 0
	for _, r := range [][2]string{{"01.01.2023", "30.06.2023"}, {"01.07.2023", "31.12.2023"}, {"01.01.2024", "31.12.2024"}} {
		p := page(query, 1, 1)
		p.ComplexFilter = serpstat.Filter{{{Field: "add", CompareType: "gte", Value: []any{r[0]}}, {Field: "add", CompareType: "lte", Value: []any{r[1]}}}}
		a := call(t, s, p)
		require.Nil(t, a.Error)
		assert.Greater(t, int(a.Result.Summary.Total), rows/5)
		sum += int(a.Result.Summary.Total)
	}
	assert.Equal(t, rows, sum)
}

func TestOneDay(t *testing.T) {
	query := serpstattest.OneDayPrefix + "example.com"
	s := newServer(t, serpstattest.Options{RowsFor: func(q string) int {
		if strings.HasPrefix(q, serpstattest.OneDayPrefix) {
			return 90000
		}
		return 10
	}})
	p := page(query, 1, 1)
	p.ComplexFilter = serpstat.Filter{{{Field: "add", CompareType: "eq", Value: []any{"15.06.2024"}}}}
	a := call(t, s, p)
	require.Nil(t, a.Error)
	assert.EqualValues(t, 90000, a.Result.Summary.Total)
	for _, b := range serpstattest.Rows(query, 1000) {
		require.Equal(t, serpstattest.OneDayDate, b.FirstSeen)
		require.GreaterOrEqual(t, b.LastVisited, b.FirstSeen)
	}
	assert.EqualValues(t, 10, call(t, s, page("example.com", 1, 1)).Result.Summary.Total)
}

func TestRowDeterministic(t *testing.T) {
	a := serpstattest.Rows("example.com", 2000)
	b := serpstattest.Rows("example.com", 2000)
	assert.Equal(t, a, b)
	for _, i := range []int{0, 1, 999, 1999} {
		assert.Equal(t, a[i], serpstattest.Row("example.com", i))
	}
	assert.NotEqual(t, a[:10], serpstattest.Rows("example.org", 10), "queries have their own data sets")
	// Rows far into a big data set are as cheap and as fixed.
	assert.Equal(t, serpstattest.Row("example.com", 599_999), serpstattest.Row("example.com", 599_999))

	// What is served is what Row says, byte for byte through JSON.
	s := newServer(t, serpstattest.Options{Rows: 3000})
	got := call(t, s, page("example.com", 2, 1000))
	require.Nil(t, got.Error)
	assert.Equal(t, a[1000:2000], got.Result.Data)
}

func TestRowFields(t *testing.T) {
	domains := map[string]bool{}
	nofollow := map[string]bool{}
	linkTypes := map[string]bool{}
	for i, b := range serpstattest.Rows("example.com", 10000) {
		for _, s := range []string{b.URLFrom, b.URLTo, b.Nofollow, b.LinkType, b.LinkText, b.FirstSeen, b.LastVisited} {
			require.True(t, utf8.ValidString(s), "row %d: %q", i, s)
		}
		require.True(t, strings.HasPrefix(b.URLFrom, "https://"), b.URLFrom)
		require.True(t, strings.HasPrefix(b.URLTo, "https://example.com/"), b.URLTo)
		host := strings.TrimPrefix(b.URLFrom, "https://")
		host, _, _ = strings.Cut(host, "/")
		domains[host] = true
		nofollow[b.Nofollow] = true
		linkTypes[b.LinkType] = true
		first, err := time.Parse(time.DateOnly, b.FirstSeen)
		require.NoError(t, err)
		last, err := time.Parse(time.DateTime, b.LastVisited)
		require.NoError(t, err)
		require.False(t, last.Before(first), "row %d", i)
		require.True(t, b.FirstSeen >= serpstattest.FirstSeenFrom && b.FirstSeen <= serpstattest.FirstSeenTo)
		require.True(t, b.DomainRank >= 0 && b.DomainRank <= 100)
		require.True(t, b.LinksExt >= 0)
	}
	assert.Greater(t, len(domains), 5000)
	assert.Len(t, nofollow, 5)
	assert.Len(t, linkTypes, 8)
}

func TestAwkwardText(t *testing.T) {
	classes := map[string]func(string) bool{
		`double quote`:  func(s string) bool { return strings.Contains(s, `"`) },
		`comma`:         func(s string) bool { return strings.Contains(s, ",") },
		`LF`:            func(s string) bool { return strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") },
		`CRLF`:          func(s string) bool { return strings.Contains(s, "\r\n") },
		`tab`:           func(s string) bool { return strings.Contains(s, "\t") },
		`backslash`:     func(s string) bool { return strings.Contains(s, `\`) },
		`accent`:        func(s string) bool { return strings.Contains(s, "é") },
		`CJK`:           func(s string) bool { return strings.Contains(s, "日本語") },
		`emoji`:         func(s string) bool { return strings.Contains(s, "🚀") },
		`RTL Arabic`:    func(s string) bool { return strings.ContainsRune(s, 'م') },
		`leading =`:     func(s string) bool { return strings.HasPrefix(s, "=") },
		`leading +`:     func(s string) bool { return strings.HasPrefix(s, "+") },
		`leading -`:     func(s string) bool { return strings.HasPrefix(s, "-") },
		`leading @`:     func(s string) bool { return strings.HasPrefix(s, "@") },
		`empty`:         func(s string) bool { return s == "" },
		`leading space`: func(s string) bool { return strings.HasPrefix(s, " ") },
		`plain ASCII`: func(s string) bool {
			return s != "" && !strings.ContainsAny(s, "\"\\,\r\n\t") && utf8.RuneCountInString(s) == len(s)
		},
	}
	rows := serpstattest.Rows("example.com", 1000)
	for name, has := range classes {
		n := 0
		for _, b := range rows {
			if has(b.LinkText) {
				n++
			}
		}
		assert.Positive(t, n, "no link_text in the first 1000 rows has %s", name)
	}
	var comma, quote, nonASCII int
	for _, b := range rows {
		if strings.Contains(b.URLFrom, ",") {
			comma++
		}
		if strings.Contains(b.URLFrom, `"`) {
			quote++
		}
		if utf8.RuneCountInString(b.URLFrom) != len(b.URLFrom) {
			nonASCII++
		}
	}
	assert.Positive(t, comma, "url_from with a comma")
	assert.Positive(t, quote, "url_from with a double quote")
	assert.Positive(t, nonASCII, "url_from with non-ASCII text")
}

func TestDomainRankAsString(t *testing.T) {
	s := newServer(t, serpstattest.Options{Rows: 4, DomainRankAsString: true})
	_, b := post(t, s.URL, serpstattest.DefaultToken,
		`{"id":"1","method":"SerpstatBacklinksProcedure.getNewBacklinks","params":{"query":"example.com","searchType":"domain"}}`)
	var raw struct {
		Result struct {
			Data []map[string]json.RawMessage `json:"data"`
		} `json:"result"`
	}
	require.NoError(t, json.Unmarshal(b, &raw))
	require.Len(t, raw.Result.Data, 4)
	for i, row := range raw.Result.Data {
		isString := bytes.HasPrefix(row["domain_rank"], []byte(`"`))
		assert.Equal(t, i%2 == 1, isString, "row %d: %s", i, row["domain_rank"])
	}
	var a answer
	require.NoError(t, json.Unmarshal(b, &a))
	assert.Equal(t, serpstattest.Rows("example.com", 4), a.Result.Data)
}

func TestCredits(t *testing.T) {
	s := newServer(t, serpstattest.Options{Balance: 150})
	a := call(t, s, page("example.com", 1, 100))
	require.Nil(t, a.Error)
	assert.EqualValues(t, 50, a.Result.Summary.LeftLines)

	a = call(t, s, page("example.com", 2, 100))
	require.NotNil(t, a.Error, "100 rows cost more than the 50 credits left")
	assert.Equal(t, serpstattest.CodeNoCredits, a.Error.Code)
	assert.Equal(t, serpstattest.MsgNoCredits, a.Error.Message)
	assert.Equal(t, serpstat.ClassCredits, a.Error.Class())
	assert.EqualValues(t, 50, s.Balance(), "the refused page is not billed")

	a = call(t, s, page("example.com", 2, 50))
	require.Nil(t, a.Error)
	assert.EqualValues(t, 0, a.Result.Summary.LeftLines)

	a = call(t, s, page("example.com", 3000, 1))
	require.NotNil(t, a.Error, "an empty page costs 1 credit, and there is none")
	assert.Equal(t, serpstattest.CodeNoCredits, a.Error.Code)

	s.SetBalance(1)
	a = call(t, s, page("example.com", 3000, 1))
	require.Nil(t, a.Error)
	assert.Empty(t, a.Result.Data)
	assert.EqualValues(t, 0, s.Balance())
	assert.Equal(t, int64(151), s.Stats().CreditsBilled)
	assert.Equal(t, 2, s.Stats().ByOutcome[serpstattest.OutcomeCredits])
}

func TestGetStats(t *testing.T) {
	s := newServer(t, serpstattest.Options{Balance: 1000})
	call(t, s, page("example.com", 1, 100))
	body, err := json.Marshal(serpstat.Request{ID: "s", Method: serpstat.MethodStats, Params: struct{}{}})
	require.NoError(t, err)
	_, b := post(t, s.URL, serpstattest.DefaultToken, string(body))
	var a struct {
		ID     string `json:"id"`
		Result struct {
			Data struct {
				serpstat.Stats
				UserInfo map[string]string `json:"user_info"`
			} `json:"data"`
			Summary struct {
				LeftLines int `json:"left_lines"`
			} `json:"summary_info"`
		} `json:"result"`
	}
	require.NoError(t, json.Unmarshal(b, &a), string(b))
	assert.Equal(t, "s", a.ID)
	assert.EqualValues(t, 1000, a.Result.Data.MaxLines)
	assert.EqualValues(t, 100, a.Result.Data.UsedLines)
	assert.EqualValues(t, 900, a.Result.Data.LeftLines)
	assert.Equal(t, "demo@example.com", a.Result.Data.UserInfo["email"])
	assert.Equal(t, 900, a.Result.Summary.LeftLines)
	assert.EqualValues(t, 100, s.Stats().CreditsBilled, "getStats costs nothing")

	// getStats is subject to auth and to the rate limit.
	_, b = post(t, s.URL, "bad", string(body))
	assert.Contains(t, string(b), serpstattest.MsgInvalidToken)
	limited := newServer(t, serpstattest.Options{RPS: 1})
	_, b = post(t, limited.URL, serpstattest.DefaultToken, string(body))
	assert.Contains(t, string(b), `"result"`)
	_, b = post(t, limited.URL, serpstattest.DefaultToken, string(body))
	assert.JSONEq(t, `{"id":"s","error":{"code":32000,"message":"`+serpstattest.MsgRateLimited+`"}}`, string(b))
}

func TestFaults(t *testing.T) {
	body := `{"id":"1","method":"SerpstatBacklinksProcedure.getNewBacklinks","params":{"query":"example.com","searchType":"domain","size":10}}`
	tests := []struct {
		name        string
		fault       serpstattest.Fault
		wantStatus  int // 0: transport error
		wantBodyErr bool
		wantBilled  int64
		wantOutcome string
		check       func(t *testing.T, b []byte)
	}{
		{
			name: "http status", fault: serpstattest.Fault{Kind: serpstattest.FaultHTTPStatus},
			wantStatus: 502, wantOutcome: "fault-502",
			check: func(t *testing.T, b []byte) { assert.Contains(t, string(b), "<html>") },
		},
		{
			name: "http 429", fault: serpstattest.Fault{Kind: serpstattest.FaultHTTPStatus, Status: 429},
			wantStatus: 429, wantOutcome: "fault-429",
		},
		{name: "reset", fault: serpstattest.Fault{Kind: serpstattest.FaultReset}, wantOutcome: serpstattest.OutcomeFaultReset},
		{
			name: "truncate", fault: serpstattest.Fault{Kind: serpstattest.FaultTruncate},
			wantStatus: 200, wantBodyErr: true, wantBilled: 10, wantOutcome: serpstattest.OutcomeFaultTruncate,
		},
		{
			name: "api error", fault: serpstattest.Fault{Kind: serpstattest.FaultAPIError},
			wantStatus: 200, wantOutcome: serpstattest.OutcomeFaultAPI,
			check: func(t *testing.T, b []byte) {
				assert.JSONEq(t, `{"id":"1","error":{"code":-32603,"message":"Undefined server error"}}`, string(b))
			},
		},
		{
			name: "delay", fault: serpstattest.Fault{Kind: serpstattest.FaultDelay, Delay: 20 * time.Millisecond},
			wantStatus: 200, wantBilled: 10, wantOutcome: serpstattest.OutcomeOK,
			check: func(t *testing.T, b []byte) { assert.Contains(t, string(b), `"count":10`) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var infos []serpstattest.FaultInfo
			var mu sync.Mutex
			s := newServer(t, serpstattest.Options{Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
				mu.Lock()
				defer mu.Unlock()
				infos = append(infos, fi)
				if fi.Seq == 1 {
					return tt.fault
				}
				return serpstattest.Fault{}
			}})
			req, err := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("token", serpstattest.DefaultToken)
			resp, err := s.Client().Do(req)
			if tt.wantStatus == 0 {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.wantStatus, resp.StatusCode)
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if tt.wantBodyErr {
					require.ErrorIs(t, err, io.ErrUnexpectedEOF)
					assert.False(t, json.Valid(b))
				} else {
					require.NoError(t, err)
				}
				if tt.check != nil {
					tt.check(t, b)
				}
			}
			st := s.Stats()
			assert.Equal(t, tt.wantBilled, st.CreditsBilled)
			assert.Equal(t, map[string]int{tt.wantOutcome: 1}, st.ByOutcome)
			mu.Lock()
			require.Len(t, infos, 1)
			assert.Equal(t, serpstattest.FaultInfo{Seq: 1, Method: backlinks.NewBacklinks.API, Params: page("example.com", 1, 10)}, infos[0])
			mu.Unlock()
			log := s.Log()
			require.Len(t, log, 1)
			assert.Equal(t, tt.fault, log[0].Fault)

			// The next request is served normally.
			a := call(t, s, page("example.com", 1, 10))
			require.Nil(t, a.Error)
		})
	}
}

func TestRandomFaults(t *testing.T) {
	rates := serpstattest.FaultRates{Seed: 7, Status502: 0.1, Reset: 0.1, Truncate: 0.1, RateLimit: 0.1, Timeout: 0.1, TimeoutDelay: time.Millisecond}
	run := func() []string {
		s := newServer(t, serpstattest.Options{Faults: rates})
		body := `{"id":"1","method":"SerpstatBacklinksProcedure.getNewBacklinks","params":{"query":"example.com","searchType":"domain","size":10}}`
		for range 100 {
			req, err := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("token", serpstattest.DefaultToken)
			if resp, err := s.Client().Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		var out []string
		for _, e := range s.Log() {
			out = append(out, e.Outcome+"/"+e.Fault.Kind.String())
		}
		return out
	}
	first := run()
	assert.Equal(t, first, run(), "the same seed gives the same faults")
	kinds := map[string]int{}
	for _, o := range first {
		kinds[o]++
	}
	for _, want := range []string{"fault-502/http-status", "fault-reset/reset", "fault-truncate/truncate", "fault-api/api-error", "ok/delay", "ok/none"} {
		assert.Positive(t, kinds[want], "%s in %v", want, kinds)
	}
}

func TestLatencyAndConcurrency(t *testing.T) {
	s := newServer(t, serpstattest.Options{Latency: 50 * time.Millisecond, Rows: 10000})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { call(t, s, page("example.com", i+1, 100)) })
	}
	wg.Wait()
	st := s.Stats()
	assert.Greater(t, st.MaxInFlight, 1)
	assert.Equal(t, 8, st.Requests)
	assert.EqualValues(t, 800, st.CreditsBilled)
	assert.Len(t, st.PagesBilled, 8)
	assert.Len(t, s.Log(), 8)

	// A client that gives up ends the wait; nothing is billed. The client
	// gives up only once the fake holds its request (a fixed client timeout
	// could fire before a loaded machine delivers it, and nothing would be
	// seen), and the fake's latency is far longer than that takes.
	slow := newServer(t, serpstattest.Options{Latency: time.Minute, Rows: 10})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, slow.URL,
		strings.NewReader(`{"id":"1","method":"SerpstatBacklinksProcedure.getNewBacklinks","params":{"query":"a.com","searchType":"domain"}}`))
	require.NoError(t, err)
	req.Header.Set("token", serpstattest.DefaultToken)
	errc := make(chan error, 1)
	go func() {
		_, err := slow.Client().Do(req)
		errc <- err
	}()
	require.Eventually(t, func() bool { return slow.Stats().Requests == 1 }, time.Minute, 5*time.Millisecond)
	cancel()
	require.Error(t, <-errc)
	require.Eventually(t, func() bool { return slow.Stats().ByOutcome[serpstattest.OutcomeCanceled] == 1 }, time.Minute, 5*time.Millisecond)
	assert.Zero(t, slow.Stats().CreditsBilled)
}

// TestWaitIdle: WaitIdle returns only once no request is in flight and
// no client connection is open; by then the request is billed.
func TestWaitIdle(t *testing.T) {
	held, release := make(chan struct{}), make(chan struct{})
	s := newServer(t, serpstattest.Options{Rows: 10, Fault: func(serpstattest.FaultInfo) serpstattest.Fault {
		close(held)
		<-release
		return serpstattest.Fault{}
	}})
	client := &http.Client{Transport: &http.Transport{}}
	done := make(chan error, 1)
	go func() {
		req, err := http.NewRequest(http.MethodPost, s.URL,
			strings.NewReader(`{"id":"1","method":"SerpstatBacklinksProcedure.getNewBacklinks","params":{"query":"a.com","searchType":"domain"}}`))
		if err == nil {
			req.Header.Set("token", serpstattest.DefaultToken)
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		done <- err
	}()
	<-held
	assert.Equal(t, 1, s.Stats().InFlight)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.WaitIdle(ctx), context.Canceled, "a request in flight: not idle")

	close(release)
	require.NoError(t, <-done)
	assert.Zero(t, s.Stats().InFlight)
	client.CloseIdleConnections() // the client is gone: its connection too
	require.NoError(t, s.WaitIdle(context.Background()))
	assert.EqualValues(t, 10, s.Stats().CreditsBilled)
}

func TestLog(t *testing.T) {
	s := newServer(t, serpstattest.Options{Rows: 150})
	before := time.Now()
	call(t, s, page("example.com", 2, 100))
	_, _ = post(t, s.URL, "", `{"id":"x","method":"SerpstatLimitsProcedure.getStats"}`)
	log := s.Log()
	require.Len(t, log, 2)
	assert.Equal(t, 1, log[0].Seq)
	assert.Equal(t, backlinks.NewBacklinks.API, log[0].Method)
	assert.Equal(t, page("example.com", 2, 100), log[0].Params)
	assert.Equal(t, serpstattest.OutcomeOK, log[0].Outcome)
	assert.Equal(t, 50, log[0].Rows)
	assert.EqualValues(t, 50, log[0].Credits)
	assert.False(t, log[0].Time.Before(before))
	assert.Equal(t, serpstattest.Entry{Seq: 2, Time: log[1].Time, ID: "x", Method: serpstat.MethodStats, Outcome: serpstattest.OutcomeAuth}, log[1])
}

func TestHandlerWithoutServer(t *testing.T) {
	f := serpstattest.New(serpstattest.Options{Rows: 1})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/v4?token="+serpstattest.DefaultToken,
		strings.NewReader(`{"id":1,"method":"SerpstatBacklinksProcedure.getNewBacklinks","params":{"query":"a.com","searchType":"domain"}}`))
	f.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Contains(t, rec.Body.String(), `"count":1,"total":1`)

	rec = httptest.NewRecorder()
	f.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v4", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

func TestCloseAbortsWaits(t *testing.T) {
	s := serpstattest.NewServer(serpstattest.Options{Latency: time.Minute})
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(`{"id":"1","method":"SerpstatLimitsProcedure.getStats"}`))
		req.Header.Set("token", serpstattest.DefaultToken)
		resp, err := s.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	require.Eventually(t, func() bool { return s.Stats().Requests == 1 }, 5*time.Second, time.Millisecond)
	s.Close()
	require.Error(t, <-errc)
	assert.Equal(t, 1, s.Stats().ByOutcome[serpstattest.OutcomeCanceled])
}

func TestGrowingQueryAddsNewerRows(t *testing.T) {
	q := serpstattest.GrowingPrefix + "example.com"
	rows := serpstattest.Rows(q, 1000)
	for i := 1; i < len(rows); i++ {
		require.LessOrEqual(t, rows[i-1].FirstSeen, rows[i].FirstSeen, "row %d", i)
	}
	require.Equal(t, serpstattest.FirstSeenFrom, rows[0].FirstSeen)
	require.Equal(t, "2023-01-10", rows[999].FirstSeen, "100 rows a day")
	// Rows added later are newer than every earlier one.
	more := serpstattest.Rows(q, 1050)
	require.Equal(t, rows, more[:1000])
	require.Greater(t, more[1049].FirstSeen, rows[998].FirstSeen)
}

// TestFilteredMatchesFollowRowsFor checks that the match cache names the
// data set's size: a query whose RowsFor grows (fake-api --grow) is
// scanned again, so a filter asked before and after sees the new rows.
func TestFilteredMatchesFollowRowsFor(t *testing.T) {
	var n atomic.Int64
	n.Store(1000)
	s := newServer(t, serpstattest.Options{RowsFor: func(string) int { return int(n.Load()) }})
	for _, m := range []*serpstat.Method{backlinks.NewBacklinks, backlinks.RefDomains} {
		t.Run(m.Name, func(t *testing.T) {
			n.Store(1000)
			p := methodParams(m, "grow.example", 1, 1000)
			p.ComplexFilter = serpstat.Filter{{where("domain_rank", "lte", 50)}}
			if m == backlinks.NewBacklinks {
				p.ComplexFilter = serpstat.Filter{{where("links_external", "lte", 100)}}
			}
			before, total := walk(t, s, m, p)
			require.Less(t, total, int64(1000))
			n.Store(2000)
			after, grown := walk(t, s, m, p)
			assert.Greater(t, grown, total)
			assert.Equal(t, s.Expected(m, p.Query, p), after)
			assert.Equal(t, before, after[:len(before)])
		})
	}
}

func TestRateLimitBurst(t *testing.T) {
	for _, tt := range []struct {
		name     string
		opts     serpstattest.Options
		accepted int
	}{
		// A rate so low that no token comes back during the test.
		{"default burst: ceil(RPS)", serpstattest.Options{RPS: 0.001}, 1},
		{"burst 3", serpstattest.Options{RPS: 0.001, Burst: 3}, 3},
		{"window: floor(RPS) a second", serpstattest.Options{RPS: 0.001, RateShape: serpstattest.ShapeWindow}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.opts)
			for i := range tt.accepted + 2 {
				a := call(t, s, page("example.com", 1, 10))
				if i < tt.accepted {
					require.Nil(t, a.Error, "request %d", i+1)
				} else {
					require.NotNil(t, a.Error, "request %d", i+1)
					require.Equal(t, serpstattest.CodeRateLimited, a.Error.Code)
				}
			}
			require.Equal(t, 2, s.Stats().RateLimited)
		})
	}
	require.NoError(t, serpstattest.CheckRateShape(""))
	require.Error(t, serpstattest.CheckRateShape("leaky"))
}
