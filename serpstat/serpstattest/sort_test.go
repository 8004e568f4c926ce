package serpstattest_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// sortColumn is the column a sort field of m orders by, when one holds
// it: its filter field's column, else the column of its name; -1 when
// the value is hidden (getRefDomains' check).
func sortColumn(m *serpstat.Method, sort string) int {
	if ff := m.Filter(sort); ff != nil && ff.Column != "" {
		return m.ColumnIndex(ff.Column)
	}
	if sort == "check" && m == backlinks.NewBacklinks {
		return m.ColumnIndex("last_visited")
	}
	if sort == "add" && m == backlinks.NewBacklinks {
		return m.ColumnIndex("first_seen")
	}
	return m.ColumnIndex(serpstat.Snake(sort))
}

// cell is a value as a sort compares it: a number, or text (a list
// joined, a timestamp's day).
func cell(c serpstat.Column, v serpstat.Value) (int64, string) {
	switch c.Kind {
	case serpstat.KindInt:
		return v.Int, ""
	case serpstat.KindStrings:
		return 0, strings.Join(v.List, ",")
	case serpstat.KindTimestamp:
		return 0, v.Str[:min(10, len(v.Str))]
	}
	return 0, v.Str
}

// rowSet is rows as a sorted list of their printed values.
func rowSet(rows []serpstat.Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r)
	}
	slices.Sort(out)
	return out
}

// TestEverySortFieldOrdersTheRows: every documented sort field of every
// method, ascending and descending, serves the same rows as no sort,
// ordered by the field's value where a column holds it, and the rows of
// Expected in the same order.
func TestEverySortFieldOrdersTheRows(t *testing.T) {
	const query, rows = "sorted.example", 200
	s := newServer(t, serpstattest.Options{Rows: rows})
	checked := 0
	for _, m := range backlinks.Methods {
		base := methodParams(m, query, 1, 1000)
		plain := s.Expected(m, query, base)
		require.Len(t, plain, rows)
		for _, sort := range m.Sorts {
			for _, order := range []string{"asc", "desc"} {
				t.Run(m.Name+"/"+sort+"/"+order, func(t *testing.T) {
					p := base
					p.Sort, p.Order = sort, order
					_, page := fetch(t, s, m, p)
					require.Len(t, page.Data, rows)
					assert.Equal(t, s.Expected(m, query, p), page.Data, "Expected follows the sort")
					assert.Equal(t, rowSet(plain), rowSet(page.Data), "the same rows")
					c := sortColumn(m, sort)
					if c < 0 {
						t.Logf("%s sorts by a value no column holds", sort)
						return
					}
					col := m.Columns[c]
					distinct := map[string]bool{}
					for i := 1; i < len(page.Data); i++ {
						an, as := cell(col, page.Data[i-1].Values[c])
						bn, bs := cell(col, page.Data[i].Values[c])
						cmp := 0
						switch {
						case an != bn:
							cmp = map[bool]int{true: -1, false: 1}[an < bn]
						default:
							cmp = strings.Compare(as, bs)
						}
						if order == "desc" {
							cmp = -cmp
						}
						require.LessOrEqual(t, cmp, 0, "row %d: %v then %v", i, page.Data[i-1].Values[c], page.Data[i].Values[c])
						distinct[fmt.Sprint(bn, bs)] = true
					}
					if len(distinct) > 1 {
						assert.NotEqual(t, plain, page.Data, "sorted, not in data-set order")
					}
					checked++
				})
			}
		}
	}
	assert.Greater(t, checked, 60)
}

// TestSortBacklinksIsTheServedOrder: Rows sorted by SortBacklinks are
// what a getNewBacklinks export with that sort gets, in order.
func TestSortBacklinksIsTheServedOrder(t *testing.T) {
	const query, rows = "sortrows.example", 500
	s := newServer(t, serpstattest.Options{Rows: rows})
	for _, sort := range backlinks.NewBacklinks.Sorts {
		for _, order := range []string{"asc", "desc"} {
			p := page(query, 1, 1000)
			p.Sort, p.Order = sort, order
			a := call(t, s, p)
			require.Nil(t, a.Error)
			assert.Equal(t, serpstattest.SortBacklinks(serpstattest.Rows(query, rows), sort, order), a.Result.Data, "%s %s", sort, order)
		}
	}
}

// threatNames are the names answers hold for the codes, as the spec
// documents them; 9 is this fake's assumption (the spec's example filter
// sends it, its example answers hold threat_type_unspecified).
var threatNames = map[string]map[string]string{
	"platform_type": {"1": "windows", "2": "linux", "3": "android", "4": "osx", "5": "ios", "6": "any_platform", "7": "all_platforms", "8": "chrome"},
	"threat_type":   {"1": "malware", "2": "social_engineering", "3": "unwanted_software", "4": "potentially_harmful_application", "9": "threat_type_unspecified"},
}

// TestListFieldsMatchTheNamesOfTheirCodes: platform_type and threat_type
// filters of every threat method match exactly the rows whose lists hold
// the codes' names as the compare type says: contains any, notContains
// none, eq exactly the set, neq not it.
func TestListFieldsMatchTheNamesOfTheirCodes(t *testing.T) {
	const query, rows = "lists.example", 1500
	s := newServer(t, serpstattest.Options{Rows: rows})
	tests := []struct {
		field, cmp string
		values     []any
	}{
		{"platform_type", "contains", []any{"1"}},
		{"platform_type", "contains", []any{1.0}},
		{"platform_type", "contains", []any{"3", 5.0}},
		{"platform_type", "notContains", []any{1.0, "2"}},
		{"platform_type", "eq", []any{1.0, 2.0, 4.0}},
		{"platform_type", "eq", []any{"8"}},
		{"platform_type", "neq", []any{"1", "2", "4"}},
		{"threat_type", "contains", []any{9.0}},
		{"threat_type", "contains", []any{"1"}},
		{"threat_type", "eq", []any{"1", "3"}},
		{"threat_type", "notContains", []any{1.0, 9.0}},
	}
	for _, m := range []*serpstat.Method{backlinks.Threats, backlinks.ThreatsLinks, backlinks.OutThreats, backlinks.OutThreatsLinks} {
		all := s.Expected(m, query, methodParams(m, query, 1, 1))
		multi := 0
		for _, r := range all {
			if len(r.Values[m.ColumnIndex("platform_type")].List) > 1 {
				multi++
			}
		}
		assert.Greater(t, multi, rows/10, "%s: rows with several platforms", m.Name)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s %s %v", m.Name, tt.field, tt.cmp, tt.values), func(t *testing.T) {
				c := m.ColumnIndex(tt.field)
				var names []string
				for _, v := range tt.values {
					names = append(names, threatNames[tt.field][strings.TrimSuffix(fmt.Sprint(v), ".0")])
				}
				var want []serpstat.Row
				for _, r := range all {
					list := r.Values[c].List
					found := slices.ContainsFunc(names, func(n string) bool { return slices.Contains(list, n) })
					same := !slices.ContainsFunc(names, func(n string) bool { return !slices.Contains(list, n) }) &&
						!slices.ContainsFunc(list, func(n string) bool { return !slices.Contains(names, n) })
					if map[string]bool{"contains": found, "notContains": !found, "eq": same, "neq": !same}[tt.cmp] {
						want = append(want, r)
					}
				}
				p := methodParams(m, query, 1, 1000)
				p.ComplexFilter = serpstat.Filter{{{Field: tt.field, CompareType: tt.cmp, Value: tt.values}}}
				got, total := walk(t, s, m, p)
				assert.Equal(t, want, got)
				assert.EqualValues(t, len(want), total)
				assert.NotEmpty(t, got, "the filter matches rows")
				assert.Less(t, len(got), rows, "and not all of them")
			})
		}
	}
}

// TestOrderWithoutSortSortsByTheDefaultSort: an order without a sort is
// served sorted by the method's default sort in that order, as the API
// does; neither sort nor order keeps the data set's order.
func TestOrderWithoutSortSortsByTheDefaultSort(t *testing.T) {
	const query, rows = "order.example", 150
	s := newServer(t, serpstattest.Options{Rows: rows})
	for _, m := range backlinks.Methods {
		t.Run(m.Name, func(t *testing.T) {
			base := methodParams(m, query, 1, 1000)
			_, plain := fetch(t, s, m, base)
			assert.Equal(t, s.Expected(m, query, base), plain.Data, "neither: the data set's order")
			for _, order := range []string{"asc", "desc", "DESC"} {
				p := base
				p.Order = order
				_, got := fetch(t, s, m, p)
				require.Len(t, got.Data, rows)
				assert.Equal(t, s.Expected(m, query, p), got.Data, "Expected follows, order %s", order)
				if m.DefaultSort == "" {
					assert.Equal(t, plain.Data, got.Data, "no default sort: the data set's order")
					continue
				}
				sorted := p
				sorted.Sort = m.DefaultSort
				_, want := fetch(t, s, m, sorted)
				assert.Equal(t, want.Data, got.Data, "order %s alone is sort %s %s", order, m.DefaultSort, order)
				assert.Equal(t, m.DefaultSort, got.Summary.Sort)
				assert.Equal(t, strings.ToUpper(order), strings.ToUpper(got.Summary.Order))
			}
		})
	}
}

// TestUndocumentedSortsAndOrdersAreRefused: a paged method refuses every
// sort field it does not document (any other method's, a column's name,
// a documented one in another case) and any order but asc or desc, with
// the schema error and no charge; a method that is not paged refuses any
// sort and order (it documents neither).
func TestUndocumentedSortsAndOrdersAreRefused(t *testing.T) {
	s := newServer(t, serpstattest.Options{Rows: 20})
	known := map[string]bool{}
	for _, m := range backlinks.Methods {
		for _, so := range m.Sorts {
			known[so] = true
		}
	}
	refused := func(t *testing.T, m *serpstat.Method, params map[string]any, what string) {
		t.Helper()
		raw, err := json.Marshal(params)
		require.NoError(t, err)
		before := s.Stats().CreditsBilled
		body := rawMethodCall(t, s, m.API, raw)
		_, derr := m.DecodeAnswer(body)
		var ae *serpstat.Error
		require.ErrorAs(t, derr, &ae, "%s: %s", what, body)
		assert.Equal(t, serpstattest.CodeSchema, ae.Code, "%s", body)
		assert.Contains(t, string(body), what, "the error names the param")
		assert.Equal(t, before, s.Stats().CreditsBilled, "not billed")
	}
	checked := 0
	for _, m := range backlinks.Methods {
		t.Run(m.Name, func(t *testing.T) {
			base := func(k, v string) map[string]any {
				p := map[string]any{"query": "a.example", "page": 1, "size": 10, k: v}
				if m.SearchTypes != nil {
					p["searchType"] = serpstat.SearchDomain
				}
				if m.Intersect > 0 {
					p["intersect"] = []string{"b.example"}
				}
				return p
			}
			others := []string{"first_seen", strings.ToUpper(m.Sorts[0]), " " + m.Sorts[0]}
			for so := range known {
				if !slices.Contains(m.Sorts, so) {
					others = append(others, so)
				}
			}
			for _, so := range others {
				refused(t, m, base("sort", so), "params.sort")
				checked++
			}
			for _, o := range []string{"up", "ascending", ""} {
				if o == "" {
					continue // "" is no order: the default
				}
				refused(t, m, base("order", o), "params.order")
			}
			for _, so := range m.Sorts {
				_, page := fetch(t, s, m, func() serpstat.Params {
					p := methodParams(m, "a.example", 1, 10)
					p.Sort = so
					return p
				}())
				assert.Equal(t, so, page.Summary.Sort, "a documented sort is taken and echoed")
			}
		})
	}
	assert.Greater(t, checked, 100)
	for _, m := range backlinks.NotPaged {
		t.Run(m.Name, func(t *testing.T) {
			for _, k := range []string{"sort", "order"} {
				p := map[string]any{"query": "a.example", k: "asc"}
				if m.Intersect > 0 {
					p["intersect"] = []string{"b.example"}
				}
				refused(t, m, p, "params."+k)
			}
		})
	}
}
