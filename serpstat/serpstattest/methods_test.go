package serpstattest_test

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// methodParams are valid params of m for query: searchType domain where
// m takes one, two intersect domains for intersect.
func methodParams(m *serpstat.Method, query string, page, size int) serpstat.Params {
	p := serpstat.Params{Query: query, Page: page, Size: size}
	if m.SearchTypes != nil {
		p.SearchType = serpstat.SearchDomain
	}
	if m.Intersect > 0 {
		p.Intersect = []string{"klubok.com", "issaplus.com"}[:m.Intersect]
	}
	return p
}

// rawMethodCall posts params (JSON) to m's API name and returns the body.
func rawMethodCall(t *testing.T, s *serpstattest.Server, api string, params json.RawMessage) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"id": "1", "method": api, "params": params})
	require.NoError(t, err)
	status, b := post(t, s.URL, serpstattest.DefaultToken, string(body))
	require.Equal(t, http.StatusOK, status, string(b))
	return b
}

// fetch asks m for p and decodes the answer with m's own decoder.
func fetch(t *testing.T, s *serpstattest.Server, m *serpstat.Method, p serpstat.Params) ([]byte, *serpstat.Page) {
	t.Helper()
	params, err := m.MarshalParams(p)
	require.NoError(t, err)
	raw := rawMethodCall(t, s, m.API, params)
	page, err := m.DecodeAnswer(raw)
	require.NoError(t, err, "%.500s", raw)
	return raw, page
}

func TestEveryMethodAnswersWhatExpectedSays(t *testing.T) {
	const query, rows = "methods.example", 120
	variants := []struct {
		name string
		opts serpstattest.Options
	}{
		{"plain", serpstattest.Options{Rows: rows}},
		{"numbers as strings, nulls, unknown keys", serpstattest.Options{Rows: rows, NumbersAsStrings: true, NullEvery: 4, UnknownKeyEvery: 3}},
	}
	for _, m := range backlinks.Methods {
		for _, v := range variants {
			t.Run(m.Name+"/"+v.name, func(t *testing.T) {
				s := newServer(t, v.opts)
				p := methodParams(m, query, 1, 50)
				want := s.Expected(m, query, p)
				require.Len(t, want, rows)
				var got []serpstat.Row
				for pg := 1; pg <= 3; pg++ {
					p.Page = pg
					_, page := fetch(t, s, m, p)
					assert.EqualValues(t, rows, page.Summary.Total)
					got = append(got, page.Data...)
					if v.opts.UnknownKeyEvery > 0 {
						assert.Equal(t, []string{serpstattest.UnknownKey}, page.UnknownKeys)
					} else {
						assert.Empty(t, page.UnknownKeys)
					}
				}
				require.Equal(t, want, got)
				assert.Equal(t, int64(rows), s.Stats().CreditsBilled, "billed = rows")
				for _, r := range want {
					require.Len(t, r.Values, len(m.Columns))
				}
			})
		}
	}
}

func TestMethodWireFormat(t *testing.T) {
	const query = "wire.example"
	s := newServer(t, serpstattest.Options{Rows: 40})
	tests := []struct {
		method string
		want   []string // in the raw answer
		not    []string
	}{
		{"lost-backlinks", []string{`"date_del":"`, `"links_ext":`, `"domain_rank":`}, nil},
		{"outlinks", []string{`"date_del":null`, `"date_del":"`}, []string{`"domain_rank"`}},
		{"lost-outlinks", []string{`"nofollow":`, `"link_nofollow":`, `"links_ext":`, `"links_external":`}, nil},
		{"ref-domains", []string{`"domain_from":`, `"domainRank":"`, `"domainRank":`, `"ref_pages":"`}, []string{`"domain_rank"`}},
		{"out-domains", []string{`"domain_to":`, `"domains_to":`, `"domain_links":"`}, nil},
		{"redirected-domains", []string{`{"Domain":"`, `"Domain Rank":`}, nil},
		{"top-pages", []string{`"url":"/`, `"urlTo":"https://wire.example/`, `"ref_domains":`, `"ips":`}, []string{`"url_to"`}},
		{"anchors", []string{`"anchor":`, `"refDomains":`, `"total":`, `"noFollow":`}, nil},
		{"intersect", []string{`"SDR":`, `"Links count for domain #1 wire.example":`, `"Links count for domain #2 klubok.com":`}, []string{`domain #3`}},
		{"threats", []string{`"domain_link":"`, `"links_count":`, `"platform_type":["`, `"threat_type":["`, `"lastupdate":"20`}, nil},
		{"threats-links", []string{`"link_from":"`, `"link_to":"`, `"platform_type":["`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			m := backlinks.Lookup(tt.method)
			p := methodParams(m, query, 1, 40)
			if m.Intersect > 0 {
				p.Intersect = []string{"klubok.com"}
			}
			raw, page := fetch(t, s, m, p)
			for _, w := range tt.want {
				assert.Contains(t, string(raw), w)
			}
			for _, w := range tt.not {
				assert.NotContains(t, string(raw), w)
			}
			assert.Equal(t, s.Expected(m, query, p), page.Data)
			if m.Intersect > 0 {
				assert.Equal(t, map[string]string{"links_count_1": query, "links_count_2": "klubok.com"}, page.Intersect)
				for _, r := range page.Data {
					assert.True(t, r.Values[4].Null, "links_count_3 without a third domain")
				}
			}
		})
	}
}

func TestMethodStrictness(t *testing.T) {
	type edit func(m map[string]any)
	cond := func(field, cmp string, values ...any) edit {
		return func(m map[string]any) {
			m["complexFilter"] = []any{[]any{map[string]any{"field": field, "compareType": cmp, "value": values}}}
		}
	}
	set := func(k string, v any) edit { return func(m map[string]any) { m[k] = v } }
	del := func(k string) edit { return func(m map[string]any) { delete(m, k) } }
	tests := []struct {
		method   string
		name     string
		edit     edit
		wantCode int // 0: accepted
		wantMsg  string
	}{
		{"lost-backlinks", "ok", func(map[string]any) {}, 0, ""},
		{"new-backlinks", "ok", set("linkPerDomain", 1), 0, ""},
		{"new-backlinks", "intersect undocumented", set("intersect", []string{"a.com"}), 400, serpstattest.MsgSchema},
		{"new-backlinks", "unknown param", set("lang", "en"), 400, serpstattest.MsgSchema},
		{"new-backlinks", "contains a number", cond("url_from", "contains", 5), 32117, "Invalid value for field url_from"},
		{"anchors", "contains a number", cond("anchor", "contains", 5), 32117, "Invalid value for field anchor"},
		{"new-backlinks", "searchType url documented", set("searchType", "url"), 0, ""},

		{"redirected-domains", "searchType undocumented", set("searchType", "domain"), 400, serpstattest.MsgSchema},
		{"intersect", "searchType undocumented", set("searchType", "domain"), 400, serpstattest.MsgSchema},
		{"ref-domains", "linkPerDomain undocumented", set("linkPerDomain", 1), 400, serpstattest.MsgSchema},
		{"threats", "linkPerDomain documented", set("linkPerDomain", 1), 0, ""},
		{"lost-backlinks", "intersect undocumented", set("intersect", []string{"a.com"}), 400, serpstattest.MsgSchema},
		{"lost-backlinks", "unknown param", set("lang", "en"), 400, serpstattest.MsgSchema},
		{"lost-backlinks", "searchType required", del("searchType"), 400, serpstattest.MsgSchema},
		{"lost-backlinks", "searchType url documented", set("searchType", "url"), 0, ""},
		{"anchors", "searchType part_url documented", set("searchType", "part_url"), 0, ""},
		{"ref-domains", "searchType url undocumented", set("searchType", "url"), 400, serpstattest.MsgSchema},
		{"threats", "searchType part_url undocumented", set("searchType", "part_url"), 400, serpstattest.MsgSchema},
		{"intersect", "no intersect", del("intersect"), 400, serpstattest.MsgSchema},
		{"intersect", "three intersect domains", set("intersect", []string{"a.com", "b.com", "c.com"}), 400, serpstattest.MsgSchema},
		{"intersect", "intersect not an array", set("intersect", "a.com"), 400, serpstattest.MsgSchema},
		{"anchors", "spec's anchor and count params", func(m map[string]any) { m["anchor"] = "seo"; m["count"] = "2" }, 0, ""},
		{"anchors", "count a number", set("count", 2), 400, serpstattest.MsgSchema},
		{"top-pages", "anchors' count param", set("count", "2"), 400, serpstattest.MsgSchema},
		{"anchors", "page a string", set("page", "2"), 400, serpstattest.MsgSchema},
		{"anchors", "bad sort", set("sort", "check"), 400, serpstattest.MsgSchema},
		{"anchors", "documented sort", set("sort", "refDomains"), 0, ""},
		{"lost-outlinks", "sort lastupdate", set("sort", "lastupdate"), 0, ""},
		{"lost-outlinks", "sort check", set("sort", "check"), 400, serpstattest.MsgSchema},
		{"top-pages", "bad order", set("order", "up"), 400, serpstattest.MsgSchema},
		{"top-pages", "size 1001", set("size", 1001), 400, serpstattest.MsgSchema},
		{"top-pages", "filter field of another method", cond("add", "gte", "01.01.2024"), 32117, "Not allowed field: add"},
		{"top-pages", "lastupdate date", cond("lastupdate", "gte", "01.01.2024"), 0, ""},
		{"top-pages", "between on a date", cond("lastupdate", "between", "01.01.2024", "02.01.2024"), 32117, serpstattest.MsgBetween},
		{"top-pages", "bad date", cond("lastupdate", "gte", "2024-01-01"), 32117, "Invalid crawl date"},
		{"ref-domains", "text method on a number", cond("domain_rank", "contains", "1"), 32117, "Not allowed method contains for field domain_rank"},
		{"ref-domains", "number method on text", cond("domain_from", "gt", "a"), 32117, "Not allowed method gt for field domain_from"},
		{"ref-domains", "bad number", cond("domain_links", "gte", "many"), 32117, "Invalid value for field domain_links"},
		{"ref-domains", "additional filter", set("complexFilter", []any{[]any{map[string]any{"additional_filters": "only_hosts"}}}), 0, ""},
		{"top-pages", "undocumented additional filter", set("complexFilter", []any{[]any{map[string]any{"additional_filters": "only_hosts"}}}), 32117, "Not allowed field: only_hosts"},
		{"lost-backlinks", "link_type answer value", cond("link_type", "eq", "href"), 32117, "Not allowed value href for field link_type"},
		{"lost-backlinks", "link_type documented", cond("link_type", "eq", "text"), 0, ""},
		{"top-pages", "lastupdate without leading zeros", cond("lastupdate", "gte", "1.1.2024"), 32117, "Invalid crawl date"},
		{"threats", "lastupdate YYYY-MM-DD", cond("lastupdate", "gte", "2024-01-01"), 0, ""},
		{"threats-links", "lastupdate DD.MM.YYYY", cond("lastupdate", "gte", "01.01.2024"), 32117, "Invalid crawl date"},
		{"out-threats", "lastupdate D.M.YYYY", cond("lastupdate", "lte", "1.1.2024"), 32117, "Invalid crawl date"},
		{"threats", "platform_type code", cond("platform_type", "eq", 1), 0, ""},
		{"threats", "platform_type contains a code as text (the spec's example)", cond("platform_type", "contains", "1"), 0, ""},
		{"threats-links", "platform_type contains a code as a number", cond("platform_type", "contains", 1), 0, ""},
		{"out-threats-links", "threat_type 9 (the spec's example)", cond("threat_type", "contains", 9), 0, ""},
		{"out-threats", "platform_type notContains and neq", cond("platform_type", "notContains", "7", 8), 0, ""},
		{"threats", "platform_type a name, not a code", cond("platform_type", "contains", "windows"), 32117, "Not allowed value windows for field platform_type"},
		{"threats", "threat_type an undocumented code", cond("threat_type", "eq", 5), 32117, "Not allowed value 5 for field threat_type"},
		{"threats", "platform_type a number comparison", cond("platform_type", "gt", 1), 32117, "Not allowed method gt for field platform_type"},
		{"threats", "platform_type startsWith", cond("platform_type", "startsWith", "1"), 32117, "Not allowed method startsWith for field platform_type"},
		{"threats", "platform_type a fraction", cond("platform_type", "eq", 1.5), 32117, "Invalid value for field platform_type"},
		{"anchors", "noFollow, the example's spelling", cond("noFollow", "gte", 1), 0, ""},
		{"anchors", "nofollow, the schema's", cond("nofollow", "gte", 1), 0, ""},
		{"out-domains", "domain_to, the example's spelling", cond("domain_to", "contains", ".com"), 0, ""},
		{"out-domains", "domain_from, the schema's", cond("domain_from", "contains", ".com"), 0, ""},
		{"redirected-domains", "no filter field", cond("domain_from", "eq", "a.com"), 32117, "Not allowed field: domain_from"},
	}
	for _, tt := range tests {
		t.Run(tt.method+"/"+tt.name, func(t *testing.T) {
			m := backlinks.Lookup(tt.method)
			require.NotNil(t, m)
			s := newServer(t, serpstattest.Options{Rows: 10})
			params := map[string]any{"query": "strict.example", "page": 1, "size": 10}
			if m.SearchTypes != nil {
				params["searchType"] = "domain"
			}
			if m.Intersect > 0 {
				params["intersect"] = []string{"a.com"}
			}
			tt.edit(params)
			raw, err := json.Marshal(params)
			require.NoError(t, err)
			var a struct {
				Result json.RawMessage `json:"result"`
				Error  *serpstat.Error `json:"error"`
			}
			b := rawMethodCall(t, s, m.API, raw)
			require.NoError(t, json.Unmarshal(b, &a), string(b))
			if tt.wantCode == 0 {
				require.Nil(t, a.Error, string(b))
				return
			}
			require.NotNil(t, a.Error, string(b))
			assert.Equal(t, tt.wantCode, a.Error.Code, string(b))
			assert.Equal(t, tt.wantMsg, a.Error.Message)
			assert.Equal(t, serpstat.ClassInvalid, a.Error.Class())
			assert.Zero(t, s.Stats().CreditsBilled)
		})
	}
}

func TestUnknownMethod(t *testing.T) {
	s := newServer(t, serpstattest.Options{})
	for _, name := range []string{"getLostBacklinks", "lost-backlinks", "SerpstatBacklinksProcedure.getSummaryV3"} {
		b := rawMethodCall(t, s, name, json.RawMessage(`{"query":"a.com","searchType":"domain"}`))
		assert.Contains(t, string(b), `"code":-32601`, name)
	}
}

// splitConds are filters that partition a data set on field ff: below
// and at or above a split value for numbers and dates, each documented
// value (one per answer value) and the rest for enumerations.
func splitConds(ff serpstat.FilterField, values []serpstat.Value) [][]serpstat.Condition {
	c := func(cmp string, v ...any) []serpstat.Condition {
		return []serpstat.Condition{{Field: ff.Name, CompareType: cmp, Value: v}}
	}
	switch {
	case ff.Values != nil:
		var out [][]serpstat.Condition
		var all []any
		for _, v := range ff.Values {
			if slices.Contains([]string{"0", "1", "2", "4"}, v) {
				continue // the codes of follow, nofollow, ugc, sponsored
			}
			out = append(out, c("eq", v))
			all = append(all, v)
		}
		return append(out, c("neq", all...))
	case ff.Kind == serpstat.KindDate:
		return [][]serpstat.Condition{c("lte", ff.FormatDate(time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC))), c("gte", ff.FormatDate(time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)))}
	default:
		// The median of the column, so both halves hold rows.
		var nums []int64
		for _, v := range values {
			nums = append(nums, v.Int)
		}
		slices.Sort(nums)
		mid := int64(3)
		if len(nums) > 0 {
			mid = nums[len(nums)/2]
		}
		return [][]serpstat.Condition{c("lte", mid), c("gte", mid+1)}
	}
}

func TestSlicesPartitionEveryMethod(t *testing.T) {
	const query, rows = "slices.example", 3000
	s := newServer(t, serpstattest.Options{Rows: rows})
	for _, m := range backlinks.Methods {
		for _, field := range m.Slices {
			t.Run(m.Name+"/"+field, func(t *testing.T) {
				ff := m.Filter(field)
				require.NotNil(t, ff, "slice field %s is a filter field", field)
				p := methodParams(m, query, 1, 1)
				var colValues []serpstat.Value
				if c := m.ColumnIndex(ff.Column); c >= 0 {
					for _, r := range s.Expected(m, query, p) {
						colValues = append(colValues, r.Values[c])
					}
				}
				sum := 0
				var parts []int
				for _, conds := range splitConds(*ff, colValues) {
					p.ComplexFilter = serpstat.Filter{conds}
					_, page := fetch(t, s, m, p)
					sum += int(page.Summary.Total)
					parts = append(parts, int(page.Summary.Total))
					assert.Len(t, s.Expected(m, query, p), int(page.Summary.Total), "Expected agrees with total for %v", conds)
				}
				assert.Equal(t, rows, sum, "parts %v", parts)
				nonEmpty := 0
				for _, n := range parts {
					if n > 0 {
						nonEmpty++
					}
				}
				assert.GreaterOrEqual(t, nonEmpty, 2, "the field splits the rows: %v", parts)
			})
		}
	}
}

func TestMethodBillingAndWall(t *testing.T) {
	for _, name := range []string{"lost-backlinks", "ref-domains", "top-pages", "anchors", "intersect", "threats"} {
		t.Run(name, func(t *testing.T) {
			m := backlinks.Lookup(name)
			s := newServer(t, serpstattest.Options{Wall: 200, RowsFor: func(q string) int {
				if q == "empty.example" {
					return 0
				}
				return 250
			}})
			// A full page, a partial page at the wall, a page past the data
			// (billed 1), a page past the wall (refused, not billed).
			_, pg := fetch(t, s, m, methodParams(m, "bill.example", 1, 100))
			assert.Len(t, pg.Data, 100)
			_, pg = fetch(t, s, m, methodParams(m, "bill.example", 2, 150))
			assert.Len(t, pg.Data, 50, "the wall cuts the page")
			assert.EqualValues(t, 250, pg.Summary.Total)
			_, pg = fetch(t, s, m, methodParams(m, "empty.example", 1, 100))
			assert.Empty(t, pg.Data)
			assert.EqualValues(t, 0, pg.Summary.Total)
			params, err := m.MarshalParams(methodParams(m, "bill.example", 3, 100))
			require.NoError(t, err)
			b := rawMethodCall(t, s, m.API, params)
			assert.Contains(t, string(b), `"code":402`)
			st := s.Stats()
			assert.Equal(t, int64(100+50+1), st.CreditsBilled)
			assert.Equal(t, 150, st.RowsServed)
			key := serpstattest.PageKey{Query: "bill.example", Page: 1, Size: 100, Method: name}
			if m.Intersect > 0 {
				key.Intersect = "klubok.com,issaplus.com"
			}
			assert.Equal(t, 1, st.PagesBilled[key], "%v", st.PagesBilled)
			assert.Equal(t, 1, st.ByOutcome[serpstattest.OutcomeWall])
		})
	}
}

func TestMethodFaultUnexpected(t *testing.T) {
	for _, m := range []*serpstat.Method{backlinks.ThreatsLinks, backlinks.RefDomains} {
		s := newServer(t, serpstattest.Options{Rows: 10, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
			if fi.Seq == 1 {
				return serpstattest.Fault{Kind: serpstattest.FaultUnexpected}
			}
			return serpstattest.Fault{}
		}})
		params, err := m.MarshalParams(methodParams(m, "a.com", 1, 10))
		require.NoError(t, err)
		raw := rawMethodCall(t, s, m.API, params)
		_, err = m.DecodeAnswer(raw)
		var ue *serpstat.UnexpectedError
		require.ErrorAs(t, err, &ue, "%s: %.200s", m.Name, raw)
		assert.EqualValues(t, 10, s.Stats().CreditsBilled)
	}
}

func TestExpectedNewBacklinks(t *testing.T) {
	s := newServer(t, serpstattest.Options{Rows: 30, NullEvery: 7, UnknownKeyEvery: 5})
	m := backlinks.NewBacklinks
	p := serpstat.Params{Query: "new.example", SearchType: serpstat.SearchDomain, Page: 1, Size: 30}
	raw, page := fetch(t, s, m, p)
	assert.Contains(t, string(raw), `"`+serpstattest.UnknownKey+`":{`)
	assert.Equal(t, s.Expected(m, p.Query, p), page.Data)
	// Filtered.
	p.ComplexFilter = serpstat.Filter{{{Field: "links_external", CompareType: "lte", Value: []any{3}}}}
	_, page = fetch(t, s, m, p)
	want := s.Expected(m, p.Query, p)
	assert.Equal(t, want, page.Data)
	assert.Less(t, len(want), 30)
	for i, b := range serpstattest.Rows("new.example", 5) {
		row := s.Expected(m, p.Query, serpstat.Params{})[i]
		assert.Equal(t, b.URLFrom, row.Values[0].Str)
	}
}

func TestUnknownKeyEveryCountsRows(t *testing.T) {
	s := newServer(t, serpstattest.Options{Rows: 30, UnknownKeyEvery: 10})
	m := backlinks.Anchors
	raw, page := fetch(t, s, m, methodParams(m, "u.example", 1, 30))
	assert.Equal(t, 3, strings.Count(string(raw), `"`+serpstattest.UnknownKey+`"`))
	n := 0
	for _, r := range page.Data {
		if r.Extra != nil {
			n++
			assert.True(t, json.Valid(r.Extra), string(r.Extra))
		}
	}
	assert.Equal(t, 3, n, fmt.Sprint(page.UnknownKeys))
}

// TestFakeRefusesWhatValidateRefuses checks the fake against the local
// validation, condition by condition: for every filter field of every
// method, every compare type and a few values, the fake refuses exactly
// what Method.Validate refuses.
func TestFakeRefusesWhatValidateRefuses(t *testing.T) {
	s := newServer(t, serpstattest.Options{Rows: 5})
	valueSets := [][]any{{"1.1.2024"}, {"5"}, {5.0}, {"blog"}, {"1.1.2024", "2.2.2024"}, {3.0, 9.0}}
	checked := 0
	for _, m := range backlinks.Methods {
		for _, ff := range m.Filters {
			sets := valueSets
			for _, v := range ff.Values {
				sets = append(sets, []any{v})
			}
			for _, cmp := range serpstat.CompareTypes {
				for _, vals := range sets {
					p := methodParams(m, "same.example", 1, 5)
					p.ComplexFilter = serpstat.Filter{{{Field: ff.Name, CompareType: cmp, Value: vals}}}
					local := m.Validate(p)
					params, err := m.MarshalParams(p)
					require.NoError(t, err)
					var a struct {
						Error *serpstat.Error `json:"error"`
					}
					b := rawMethodCall(t, s, m.API, params)
					require.NoError(t, json.Unmarshal(b, &a))
					if a.Error != nil {
						assert.Equal(t, serpstattest.CodeFilter, a.Error.Code, "%s %s %s %v: %s", m.Name, ff.Name, cmp, vals, b)
					}
					assert.Equal(t, local != nil, a.Error != nil, "%s: %s %s %v: local %v, fake %s", m.Name, ff.Name, cmp, vals, local, b)
					checked++
				}
			}
		}
	}
	t.Logf("%d conditions checked", checked)
}

// TestFakeRefusesParamsValidateRefuses checks searchType, sort,
// linkPerDomain (0 included), intersect and the method's own params of
// every method against Method.Validate.
func TestFakeRefusesParamsValidateRefuses(t *testing.T) {
	s := newServer(t, serpstattest.Options{Rows: 5})
	var sorts []string
	for _, m := range backlinks.Methods {
		for _, so := range m.Sorts {
			if !slices.Contains(sorts, so) {
				sorts = append(sorts, so)
			}
		}
	}
	for _, m := range backlinks.Methods {
		var cases []serpstat.Params
		for _, st := range []string{"", serpstat.SearchDomain, serpstat.SearchDomainWithSubdomains} {
			for _, is := range [][]string{nil, {"a.com"}, {"a.com", "b.com"}, {"a.com", "b.com", "c.com"}} {
				for _, lpd := range []*int{nil, new(0), new(1), new(-1)} {
					cases = append(cases, serpstat.Params{Query: "p.example", SearchType: st, Intersect: is, LinkPerDomain: lpd, Page: 1, Size: 5})
				}
			}
		}
		for _, so := range sorts {
			p := methodParams(m, "p.example", 1, 5)
			p.Sort = so
			cases = append(cases, p)
		}
		for _, extra := range []map[string]string{{"count": "2"}, {"count": "0"}, {"count": "two"}, {"anchor": "seo"}, {"anchor": ""}, {"nope": "1"}} {
			p := methodParams(m, "p.example", 1, 5)
			p.Extra = extra
			cases = append(cases, p)
		}
		for _, p := range cases {
			local := m.Validate(p)
			params := map[string]any{"query": p.Query, "page": p.Page, "size": p.Size}
			if p.SearchType != "" {
				params["searchType"] = p.SearchType
			}
			if p.Intersect != nil {
				params["intersect"] = p.Intersect
			}
			if p.LinkPerDomain != nil {
				params["linkPerDomain"] = *p.LinkPerDomain
			}
			for k, v := range p.Extra {
				params[k] = v
			}
			if p.Sort != "" {
				params["sort"] = p.Sort
			}
			raw, err := json.Marshal(params)
			require.NoError(t, err)
			var a struct {
				Error *serpstat.Error `json:"error"`
			}
			b := rawMethodCall(t, s, m.API, raw)
			require.NoError(t, json.Unmarshal(b, &a))
			assert.Equal(t, local != nil, a.Error != nil, "%s %s: local %v, fake %.200s", m.Name, raw, local, b)
		}
	}
}

// TestRowsAreUnique checks that no two rows of a method's data set are
// equal up to the wall: the exporter drops a row equal to one it wrote as
// a duplicate of live data. Rows are compared by a 64-bit hash, and in
// full when two hashes meet, so the 60,000 rows of each method cost no
// 60,000 strings.
func TestRowsAreUnique(t *testing.T) {
	if testing.Short() {
		t.Skip("60,000 rows per method")
	}
	s := newServer(t, serpstattest.Options{Rows: serpstat.Wall})
	for _, m := range backlinks.Methods {
		t.Run(m.Name, func(t *testing.T) {
			rows := s.Expected(m, "unique.example", methodParams(m, "unique.example", 1, 1))
			require.Len(t, rows, serpstat.Wall)
			seen := make(map[uint64]int, len(rows))
			seed := maphash.MakeSeed()
			for i, r := range rows {
				var k uint64
				add := func(x uint64) { k = (k ^ x) * 1099511628211 }
				for _, v := range r.Values {
					add(maphash.String(seed, v.Str))
					add(uint64(v.Int))
					add(math.Float64bits(v.Float))
					add(uint64(len(v.List)))
					for _, e := range v.List {
						add(maphash.String(seed, e))
					}
					if v.Null {
						add(1)
					}
				}
				if j, ok := seen[k]; ok && reflect.DeepEqual(rows[j].Values, r.Values) {
					t.Fatalf("rows %d and %d are equal: %v", j, i, r.Values)
				}
				seen[k] = i
			}
		})
	}
}

func TestInsertRowsEveryMethod(t *testing.T) {
	const q, n, k = "insert.example", 20, 3
	m := backlinks.Threats
	bigger := serpstattest.New(serpstattest.Options{Rows: n + k})
	all := bigger.Expected(m, q, methodParams(m, q, 1, 1)) // rows 0..n+k-1
	appended := methodParams(m, q, 1, 1)
	appended.Sort, appended.Order = m.AppendSort, "asc"
	sorted := serpstattest.New(serpstattest.Options{Rows: n}).Expected(m, q, appended) // rows 0..n-1, sorted
	for _, tt := range []struct {
		name, sort, order string
		first, want       []serpstat.Row
	}{
		{"on top", "", "", all[:n], slices.Concat([]serpstat.Row{all[n+2], all[n+1], all[n]}, all[:n])},
		{"at the end with the append sort", m.AppendSort, "asc", sorted, slices.Concat(sorted, all[n:])},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, serpstattest.Options{Rows: n, InsertRows: k, InsertAfter: 1})
			p := methodParams(m, q, 1, 100)
			p.Sort, p.Order = tt.sort, tt.order
			_, first := fetch(t, s, m, p)
			assert.Equal(t, tt.first, first.Data)
			_, second := fetch(t, s, m, p)
			assert.EqualValues(t, n+k, second.Summary.Total)
			assert.Equal(t, tt.want, second.Data)
		})
	}
}

// TestGrowingQueryEveryCursor checks that a GrowingPrefix query's rows
// grow in the cursor column of every method that has one, so raising
// its row count adds rows the incremental filter (cursor gte the last
// day) finds.
func TestGrowingQueryEveryCursor(t *testing.T) {
	q := serpstattest.GrowingPrefix + "example.com"
	s := newServer(t, serpstattest.Options{Rows: 1000})
	for _, m := range backlinks.Methods {
		if m.Cursor == nil {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			c := m.ColumnIndex(m.Cursor.Column)
			require.GreaterOrEqual(t, c, 0)
			rows := s.Expected(m, q, methodParams(m, q, 1, 1))
			require.Len(t, rows, 1000)
			for i := 1; i < len(rows); i++ {
				require.LessOrEqual(t, rows[i-1].Values[c].Str, rows[i].Values[c].Str, "row %d", i)
			}
			last := rows[len(rows)-1].Values[c].Str // YYYY-MM-DD
			day := fmt.Sprintf("%s.%s.%s", strings.TrimLeft(last[8:10], "0"), strings.TrimLeft(last[5:7], "0"), last[0:4])
			p := methodParams(m, q, 1, 1000)
			p.ComplexFilter = serpstat.Filter{{{Field: m.Cursor.Filter, CompareType: "gte", Value: []any{day}}}}
			_, page := fetch(t, s, m, p)
			assert.EqualValues(t, serpstattest.GrowingRowsPerDay, page.Summary.Total, "the last day's rows")
		})
	}
}
