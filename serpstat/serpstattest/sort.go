package serpstattest

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// A request's rows, in the order they are served: the rows its filter
// matches (every row without one), in data-set order when it sends
// neither sort nor order (the fake's default order), else sorted by the
// sort field's (without a sort, the method's DefaultSort's)
// value, ascending with order "asc" and descending otherwise (the API's
// default order is desc), rows of equal value in data-set order. A sort
// field is compared as its filter field of the same name or alias (a
// date, a number, text; an enumerated list as its names joined), else as
// the column of that name, else as the row's date of last crawl
// (getRefDomains' check, getLostOutlinks' lastupdate, which no column
// holds).

// servedSort is the sort field a request of m is served by: its sort;
// without one, its method's default sort when it sends an order (the API
// sorts by its default field in the order asked), else "" (the data set's
// own order, the fake's default).
func servedSort(m *serpstat.Method, p serpstat.Params) string {
	if p.Sort == "" && p.Order != "" {
		return m.DefaultSort
	}
	return p.Sort
}

// selection is what decides a request's rows and their order.
type selection struct {
	m          *serpstat.Method
	query      string
	intersect  []string
	searchType string      // "" or domain: the domain's data set; url, part_url: a page's
	n          int         // rows in the data set
	canon      string      // canonical JSON of the filter, "" without one
	filter     compiled    // getNewBacklinks' filter, nil: none
	mfilter    mcompiled   // another method's filter, nil: none
	extra      *extraMatch // a method's own params that select rows, nil: none
	extraKey   string      // extraKey of those params
	sort       string      // "" for the default order
	desc       bool
}

// order returns the number of rows s serves and their data-set indexes,
// in order: idx is nil when they are 0..n-1 as they are. The fake's match
// cache keeps them per data set (method, intersect, query, search type
// and its row count), filter as sent, the method's own params, sort and
// order.
func (f *Fake) order(s selection) (idx []int32, count int) {
	isNew := s.m == backlinks.NewBacklinks
	var g gen
	var mg *mgen
	if isNew {
		g = f.gen(s.query).forSearch(s.searchType)
	} else {
		mg = f.mgenFor(s.m, serpstat.Params{Query: s.query, Intersect: s.intersect, SearchType: s.searchType})
	}
	set := strconv.Itoa(s.n) + "\x00" + s.query + "\x00" + s.searchType
	if !isNew {
		set = s.m.Name + "\x00" + strings.Join(s.intersect, ",") + "\x00" + set + "\x00" + s.extraKey
	}
	// A filter that matches every row is served unfiltered, without a scan.
	filtered := false
	switch {
	case s.filter != nil && !s.filter.matchesAll():
		idx = f.matches.indexes(set+"\x00"+s.canon, s.n, func(i int) bool {
			r := g.row(i)
			return s.filter.match(&r)
		})
		filtered = true
	case s.mfilter != nil && !s.mfilter.matchesAll() || s.extra != nil:
		var r mrow
		idx = f.matches.indexes(set+"\x00"+s.canon, s.n, func(i int) bool {
			mg.fill(&r, i, true)
			return (s.mfilter == nil || s.mfilter.match(&r)) && s.extra.match(&r)
		})
		filtered = true
	}
	count = s.n
	if filtered {
		count = len(idx)
	}
	if s.sort == "" {
		return idx, count
	}
	canon := ""
	if filtered {
		canon = s.canon
	}
	dir := "asc"
	if s.desc {
		dir = "desc"
	}
	return f.matches.get(set+"\x00"+canon+"\x00sort\x00"+s.sort+"\x00"+dir, func() []int32 {
		var key func(i int) (int64, string)
		if isNew {
			key = func(i int) (int64, string) {
				r := g.row(i)
				return newSortKey(s.sort, &r)
			}
		} else {
			var r mrow
			sk := mg.mi.sortKeyOf(s.sort)
			key = func(i int) (int64, string) {
				mg.fill(&r, i, true)
				return sk(&r)
			}
		}
		return sortIndexes(idx, s.n, filtered, s.desc, key)
	}), count
}

// sortIndexes orders idx (0..n-1 when not filtered) by key, ties in
// data-set order.
func sortIndexes(idx []int32, n int, filtered, desc bool, key func(i int) (int64, string)) []int32 {
	type keyed struct {
		i int32
		n int64
		s string
	}
	if !filtered {
		idx = make([]int32, n)
		for i := range idx {
			idx[i] = int32(i)
		}
	}
	ks := make([]keyed, len(idx))
	for j, i := range idx {
		num, str := key(int(i))
		ks[j] = keyed{i: i, n: num, s: str}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		c := cmp.Compare(a.n, b.n)
		if c == 0 {
			c = strings.Compare(a.s, b.s)
		}
		if desc {
			c = -c
		}
		return c
	})
	out := make([]int32, len(ks))
	for j, k := range ks {
		out[j] = k.i
	}
	return out
}

// newSortKey is a getNewBacklinks row's value of a sort field.
func newSortKey(sort string, r *row) (int64, string) {
	switch sort {
	case "url_from":
		return 0, r.URLFrom
	case "anchor":
		return 0, r.LinkText
	case "link_nofollow":
		return 0, r.Nofollow
	case "links_external":
		return int64(r.LinksExt), ""
	case "link_type":
		return 0, r.LinkType
	case "url_to":
		return 0, r.URLTo
	case "add":
		return int64(r.addKey), ""
	case "domain_rank":
		return int64(r.DomainRank), ""
	}
	return int64(r.checkKey), "" // check
}

// sortKeyOf returns the function giving a row's value of a sort field of
// the method (a row filled with its filter values).
func (mi *methodInfo) sortKeyOf(sort string) func(r *mrow) (int64, string) {
	m := mi.m
	if k := slices.IndexFunc(m.Filters, func(ff serpstat.FilterField) bool { return ff.Spells(sort) }); k >= 0 {
		a := mi.access[k]
		switch {
		case a.codes != nil && a.col >= 0:
			return func(r *mrow) (int64, string) { return 0, strings.Join(r.vals[a.col].List, ",") }
		case a.kind == serpstat.KindDate || a.kind == serpstat.KindInt || a.kind == serpstat.KindFloat:
			return func(r *mrow) (int64, string) { return r.fnum[k], "" }
		default:
			return func(r *mrow) (int64, string) { return 0, r.fstr[k] }
		}
	}
	if c := m.ColumnIndex(serpstat.Snake(sort)); c >= 0 {
		switch m.Columns[c].Kind {
		case serpstat.KindInt:
			return func(r *mrow) (int64, string) { return r.vals[c].Int, "" }
		case serpstat.KindStrings:
			return func(r *mrow) (int64, string) { return 0, strings.Join(r.vals[c].List, ",") }
		default:
			return func(r *mrow) (int64, string) { return 0, r.vals[c].Str }
		}
	}
	return func(r *mrow) (int64, string) { return r.check, "" }
}

// SortBacklinks sorts getNewBacklinks rows as the fake serves them under
// sort and order (see Fake's notes on sort): stably, by the sort field's
// value, descending unless order is "asc"; "" keeps them as they are. It
// returns rows. Serpstat-export sends sort "add" and order "asc" unless
// told otherwise, so serpstattest.Rows(q, n) sorted so are the rows of an
// export of q, in order.
func SortBacklinks(rows []Backlink, sort, order string) []Backlink {
	if sort == "" {
		return rows
	}
	desc := !strings.EqualFold(order, "asc")
	slices.SortStableFunc(rows, func(a, b Backlink) int {
		ra := row{Backlink: a, addKey: int(dateKey(a.FirstSeen)), checkKey: int(dateKey(a.LastVisited))}
		rb := row{Backlink: b, addKey: int(dateKey(b.FirstSeen)), checkKey: int(dateKey(b.LastVisited))}
		an, as := newSortKey(sort, &ra)
		bn, bs := newSortKey(sort, &rb)
		c := cmp.Compare(an, bn)
		if c == 0 {
			c = strings.Compare(as, bs)
		}
		if desc {
			c = -c
		}
		return c
	})
	return rows
}
