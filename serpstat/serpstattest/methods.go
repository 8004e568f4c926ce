package serpstattest

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// This file serves every paged method of backlinks.Methods other than
// getNewBacklinks (which keeps its own row type and writer in data.go):
// a row per (method, query, i) computed from the getNewBacklinks
// generator reseeded with the method's name, a value per column of the
// descriptor, hidden values for the filter fields no column holds, and
// the spec's wire keys and types.

// methodByAPI returns the method, paged or not, whose full API name is
// name ("SerpstatBacklinksProcedure.getLostBacklinks"), or nil.
func methodByAPI(name string) *serpstat.Method {
	for _, m := range backlinks.All {
		if m.API == name {
			return m
		}
	}
	return nil
}

// wireQuirks are the spec's answer variants of one method, beyond each
// column's first wire key.
type wireQuirks struct {
	// alias: columns answered under their second key (the example's)
	// on odd rows and their first (the schema's) on even rows.
	alias map[string]bool
	// strNums: integer columns the schema types as strings, answered as
	// strings on odd rows and numbers (as the examples) on even rows.
	strNums map[string]bool
	// nullDateDel: date_del is null on a quarter of the rows (the
	// getOutlinks example answers null).
	nullDateDel bool
}

var quirks = map[string]wireQuirks{
	"lost-outlinks": {alias: map[string]bool{"nofollow": true, "links_ext": true}},
	"out-domains":   {alias: map[string]bool{"domain_to": true}, strNums: map[string]bool{"domain_links": true, "domain_rank": true}},
	"ref-domains":   {strNums: map[string]bool{"ref_pages": true, "domain_rank": true}},
	"outlinks":      {nullDateDel: true},
}

// The lists of names the threat methods' rows hold for platform_type and
// threat_type (Google Safe Browsing's enum names, lower case), drawn per
// row: often the spec's example answers' ["windows","linux","osx"] and
// ["threat_type_unspecified"], often one name, sometimes two or three.
var (
	platformLists = [][]string{
		{"windows", "linux", "osx"}, {"windows", "linux", "osx"}, {"windows", "linux", "osx"}, {"osx", "windows", "linux"},
		{"windows"}, {"linux"}, {"android"}, {"osx"}, {"ios"}, {"any_platform"}, {"all_platforms"}, {"chrome"},
		{"windows", "android"}, {"android", "ios"}, {"chrome", "linux"}, {"any_platform", "windows"},
	}
	threatLists = [][]string{
		{"threat_type_unspecified"}, {"threat_type_unspecified"}, {"threat_type_unspecified"},
		{"malware"}, {"malware"}, {"social_engineering"}, {"unwanted_software"}, {"potentially_harmful_application"},
		{"malware", "unwanted_software"}, {"social_engineering", "malware"}, {"potentially_harmful_application", "malware"},
	}
)

// codeAssumptions are the names this fake matches for codes whose names
// the spec does not document: threat_type 9, which the spec's example
// filters send while its example answers hold "threat_type_unspecified",
// is taken to mean that. An assumption of the fake, not of the client.
var codeAssumptions = map[string]map[string]string{
	"threat_type": {"9": "threat_type_unspecified"},
}

// threatTLDs are the top-level domains of the threat methods' domains:
// those of other methods and .ru, which the spec's example filters look
// for (url_to contains ".ru").
var threatTLDs = append(slices.Clone(tlds), "ru", "ru", "ru")

// enumMaps are the filter fields whose documented values differ from the
// values answers hold: filter value → answer value.
var enumMaps = map[string]map[string]string{
	"link_type":     linkTypeFilterValues,
	"link_nofollow": nofollowFilterValues,
}

// access says where a filter field's value comes from: a column, or a
// hidden attribute of the row.
type access struct {
	col  int // column index, -1 when hidden
	kind serpstat.Kind
	enum map[string]string // filter value → answer value; nil: as given
	// codes: an enumerated list field's code → the name its column's
	// lists hold; nil for any other field.
	codes map[string]string
}

// methodInfo is what the fake derives from a descriptor once.
type methodInfo struct {
	m      *serpstat.Method
	q      wireQuirks
	access []access // per m.Filters
	seed   uint64   // mixed into the query's seed
	hasURL bool     // a "url" column (top-pages): url_to is its page
	// threat: a threat method (domains from threatTLDs); out: its rows
	// are links from the queried site (out-threats-links).
	threat, out bool
}

var (
	infoMu sync.Mutex
	infos  = map[*serpstat.Method]*methodInfo{}
)

func infoFor(m *serpstat.Method) *methodInfo {
	infoMu.Lock()
	defer infoMu.Unlock()
	if mi := infos[m]; mi != nil {
		return mi
	}
	mi := &methodInfo{m: m, q: quirks[m.Name], hasURL: m.ColumnIndex("url") >= 0,
		threat: m.ColumnIndex("threat_type") >= 0, out: strings.HasPrefix(m.Name, "out-")}
	h := uint64(14695981039346656037)
	for i := 0; i < len(m.Name); i++ {
		h ^= uint64(m.Name[i])
		h *= 1099511628211
	}
	mi.seed = mix64(h)
	for _, ff := range m.Filters {
		a := access{col: -1, kind: ff.Kind, enum: enumMaps[ff.Name]}
		switch {
		case ff.Column != "":
			a.col = m.ColumnIndex(ff.Column)
		case m.ColumnIndex(ff.Name) >= 0:
			a.col = m.ColumnIndex(ff.Name) // link_type: the answer's values, mapped
		}
		if ff.Codes != nil {
			a.codes = make(map[string]string, len(ff.Codes))
			for _, c := range ff.Codes {
				if name := cmp.Or(c.Name, codeAssumptions[ff.Name][c.Code]); name != "" {
					a.codes[c.Code] = name
				}
			}
		}
		if a.enum == nil && ff.Values != nil {
			a.enum = make(map[string]string, len(ff.Values))
			for _, v := range ff.Values {
				a.enum[v] = v
			}
		}
		mi.access = append(mi.access, a)
	}
	infos[m] = mi
	return mi
}

// mgen makes the rows of one (method, query, intersect domains).
type mgen struct {
	mi        *methodInfo
	g         gen
	intersect []string // the domains #2 and #3 count for
	domSeed   []uint64 // per intersect domain
	// fromSite: the query is a page (url, part_url) whose outgoing links
	// the method lists, so url_from is the query's page and url_to
	// another site's (mgenFor).
	fromSite bool
}

// outgoing are the link methods whose rows are links from the queried
// site: a url or part_url query names the page they come from (url_from).
// The others' rows link to it (url_to).
var outgoing = map[string]bool{"outlinks": true, "lost-outlinks": true}

func (f *Fake) mgen(m *serpstat.Method, query string, intersect []string) *mgen {
	mi := infoFor(m)
	g := f.gen(query)
	g.seed = mix64(g.seed ^ mi.seed)
	mg := &mgen{mi: mi, g: g, intersect: intersect}
	for _, d := range intersect {
		mg.domSeed = append(mg.domSeed, newGen(d).seed)
	}
	return mg
}

// mgenFor makes the rows of m for the query of p, as its search type
// says: a url query's rows all link to (or, for outgoing methods, from)
// the queried page, a part_url query's to pages that start with it
// (gen.forSearch).
func (f *Fake) mgenFor(m *serpstat.Method, p serpstat.Params) *mgen {
	mg := f.mgen(m, p.Query, p.Intersect)
	mg.g = mg.g.forSearch(p.SearchType)
	pageSearch := p.SearchType == serpstat.SearchURL || p.SearchType == serpstat.SearchPartURL
	mg.fromSite = pageSearch && outgoing[m.Name]
	return mg
}

// mrow is a generated row: its values, and per filter field the value
// filters compare (a number, a date as YYYYMMDD, or text).
type mrow struct {
	vals []serpstat.Value
	fnum []int64
	fstr []string
	// check is the row's hidden date of last crawl, YYYYMMDD: what sorts
	// no column or filter holds (getRefDomains' check) compare.
	check int64
}

// skew is 0..top, mostly small.
func skew(r uint64, top uint64) int64 {
	v := r % 1000
	return int64(v * v * top / 1_000_000)
}

// host is the host of a URL.
func host(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	return u
}

func timestamp(day int, secs uint64) string {
	var buf [19]byte
	copy(buf[:], dayStrings[day])
	buf[10] = ' '
	s := int(secs % 86400)
	put2(buf[11:], s/3600)
	buf[13] = ':'
	put2(buf[14:], s/60%60)
	buf[16] = ':'
	put2(buf[17:], s%60)
	return string(buf[:])
}

func dateKey(s string) int64 {
	if len(s) < 10 {
		return 0
	}
	y, _ := strconv.Atoi(s[0:4])
	m, _ := strconv.Atoi(s[5:7])
	d, _ := strconv.Atoi(s[8:10])
	return int64(y*10000 + m*100 + d)
}

// row computes row i.
func (mg *mgen) row(i int) mrow {
	var r mrow
	mg.fill(&r, i, true)
	return r
}

// fill computes row i into r, reusing its slices; the filter values only
// when filters is true.
func (mg *mgen) fill(r *mrow, i int, filters bool) {
	b := mg.g.row(i)
	x := mg.g.seed + uint64(i)*0x9e3779b97f4a7c15
	r4 := mix64(x ^ 0x61c8864680b583eb)
	r5 := mix64(x ^ 0x3c6ef372fe94f82b)
	n1 := 1 + skew(r4, 5000)             // ref_pages, total, domain_links, links_count
	n2 := 1 + int64((r4>>20)%uint64(n1)) // ref_domains <= n1
	n3 := 1 + int64((r4>>40)%uint64(n2)) // ips <= n2
	platforms := platformLists[(r5>>8)%uint64(len(platformLists))]
	threats := threatLists[(r5>>16)%uint64(len(threatLists))]
	m, mi := mg.mi.m, mg.mi
	r0 := mix64(x ^ 0x7f4a7c159e3779b9)
	// A row's domain and top page are unique in its data set, as the
	// API's rows of a domain list are: dedupe must keep every row.
	var dom, page string
	domain := func() string {
		if dom == "" {
			dom = uniqueHost(i, r0, mi.threat)
		}
		return dom
	}
	r.check = int64(b.checkKey)
	topPage := func() string {
		if page == "" {
			page = uniquePage(i, r0)
		}
		return page
	}
	if cap(r.vals) < len(m.Columns) {
		r.vals = make([]serpstat.Value, len(m.Columns))
	}
	r.vals = r.vals[:len(m.Columns)]
	for c, col := range m.Columns {
		v := &r.vals[c]
		*v = serpstat.Value{}
		switch col.Name {
		case "url_from":
			if mg.fromSite {
				v.Str = b.URLTo // the queried page
			} else {
				v.Str = b.URLFrom
			}
		case "link_from", "domain_link":
			if mi.out && col.Name == "link_from" { // a page of the queried site
				v.Str = b.URLTo
			} else {
				v.Str = "https://" + domain() + "/" + pick(fromPaths, r0>>48)
			}
		case "url_to":
			switch {
			case mi.hasURL: // top-pages: the page of url, in full
				v.Str = mg.g.toBase + topPage()[1:]
			case mg.fromSite:
				v.Str = b.URLFrom // another site's page
			default:
				v.Str = b.URLTo
			}
		case "link_to":
			if mi.out { // a page of the malicious site
				v.Str = "https://" + domain() + "/" + pick(toPaths, r0>>52)
			} else {
				v.Str = b.URLTo
			}
		case "url":
			v.Str = topPage()
		case "domain", "domain_from", "domain_to":
			v.Str = domain()
		case "nofollow":
			v.Str = b.Nofollow
		case "link_type":
			v.Str = b.LinkType
		case "link_text":
			v.Str = b.LinkText
		case "anchor":
			v.Str = uniqueAnchor(i, b.LinkText)
		case "links_ext":
			v.Int = int64(b.LinksExt)
		case "domain_rank", "sdr":
			v.Int = int64(b.DomainRank)
		case "first_seen", "lastupdate":
			v.Str = b.FirstSeen
		case "last_visited":
			v.Str = b.LastVisited
		case "date_del":
			if mg.mi.q.nullDateDel && r5%4 == 0 {
				v.Null = true
			} else {
				v.Str = timestamp(b.lvDay+int((r5>>24)%uint64(lastDay-b.lvDay+1)), r5>>40)
			}
		case "ref_pages", "total", "domain_links", "links_count", "links_count_1":
			v.Int = n1
		case "ref_domains":
			v.Int = n2
		case "ips":
			v.Int = n3
		case "no_follow":
			v.Int = int64(r5 % uint64(n1+1))
		case "links_count_2", "links_count_3":
			k := int(col.Name[len(col.Name)-1] - '2')
			if k < len(mg.domSeed) {
				v.Int = skew(mix64(x^mg.domSeed[k]), uint64(n1)+50)
			} else {
				v.Null = true // no such domain: the key is not answered
			}
		case "platform_type":
			v.List = platforms
		case "threat_type":
			v.List = threats
		default:
			// A column this fake has no data for yet: a value of its kind.
			switch col.Kind {
			case serpstat.KindInt:
				v.Int = n1
			case serpstat.KindFloat:
				v.Float = float64(n2) / 4
			case serpstat.KindDate:
				v.Str = b.FirstSeen
			case serpstat.KindTimestamp:
				v.Str = b.LastVisited
			case serpstat.KindStrings:
				v.List = []string{b.Nofollow}
			default:
				v.Str = b.LinkText
			}
		}
	}
	if !filters {
		return
	}
	if cap(r.fnum) < len(m.Filters) {
		r.fnum = make([]int64, len(m.Filters))
		r.fstr = make([]string, len(m.Filters))
	}
	r.fnum, r.fstr = r.fnum[:len(m.Filters)], r.fstr[:len(m.Filters)]
	for k, a := range mg.mi.access {
		r.fnum[k], r.fstr[k] = 0, ""
		if a.col >= 0 {
			v := r.vals[a.col]
			switch a.kind {
			case serpstat.KindDate:
				r.fnum[k] = dateKey(v.Str)
			case serpstat.KindInt, serpstat.KindFloat:
				r.fnum[k] = v.Int
			default:
				r.fstr[k] = v.Str
			}
			continue
		}
		switch m.Filters[k].Name {
		case "lastupdate": // link detection date (top-pages, anchors)
			r.fnum[k] = int64(b.addKey)
		default:
			switch a.kind {
			case serpstat.KindDate:
				r.fnum[k] = int64(b.checkKey)
			case serpstat.KindInt, serpstat.KindFloat:
				r.fnum[k] = n1
			default:
				r.fstr[k] = b.URLFrom
			}
		}
	}
}

// uniqueHost is a host name made of row i: no two rows of a data set
// share it. A twentieth are internationalized names.
func uniqueHost(i int, r uint64, threat bool) string {
	n := strconv.Itoa(i)
	if r%100 < 5 {
		return "n" + n + "." + host(pick(idnURLs, r>>8))
	}
	t := tlds
	if threat {
		t = threatTLDs
	}
	return pick(hostPrefixes, r>>8) + pick(domainWords, r>>16) + "-" + pick(domainWords, r>>24) + n + "." + pick(t, r>>32)
}

// uniquePage is a path of the queried site made of row i: "/" for row 0,
// a page of toPaths with i in it for the others.
func uniquePage(i int, r uint64) string {
	if i == 0 {
		return "/"
	}
	p := pick(toPaths, r>>40)
	if strings.Contains(p, "?") {
		return "/" + p + "&p=" + strconv.Itoa(i)
	}
	return "/" + p + "p" + strconv.Itoa(i)
}

// uniqueAnchor is getAnchors' anchor of row i: the awkward text a with i
// after its first character, so that it keeps its leading and trailing
// characters (=, spaces, a backslash) and no two rows share it; row 1's
// anchor is empty, as one row of a site's anchors may be.
func uniqueAnchor(i int, a string) string {
	if i == 1 {
		return ""
	}
	n := strconv.Itoa(i)
	if a == "" {
		return n
	}
	_, size := utf8.DecodeRuneInString(a)
	return a[:size] + n + a[size:]
}

// mstyle is how appendRow writes one row's variants.
type mstyle struct {
	i          int  // the row's data-set index
	numStrings bool // every number as a string (Options.NumbersAsStrings)
	nulls      bool // Options.NullEvery's nulls
	unknown    bool // Options.UnknownKeyEvery's key
	unexpected bool // FaultUnexpected: the first value an object
}

// nulled reports whether Options.NullEvery nulls column c: every integer
// and list column, and link_text and anchor.
func nulled(c serpstat.Column) bool {
	switch c.Kind {
	case serpstat.KindInt, serpstat.KindFloat, serpstat.KindStrings:
		return true
	}
	return c.Name == "link_text" || c.Name == "anchor"
}

// unknownValue is the value of UnknownKey on row i.
func unknownValue(i int) []byte {
	s := append([]byte(`{"since":"2026-12-01","row":`), strconv.Itoa(i)...)
	return append(s, `,"tags":["a","b \"c\""]}`...)
}

// UnknownKey is the undocumented key Options.UnknownKeyEvery adds.
const UnknownKey = "new_field"

// appendRow appends row r as the API's JSON object.
func (mg *mgen) appendRow(s []byte, r *mrow, st mstyle) []byte {
	m, q := mg.mi.m, mg.mi.q
	s = append(s, '{')
	first := true
	for c, col := range m.Columns {
		key := col.Keys[0]
		switch {
		case col.KeyPrefix != "":
			n := int(col.Name[len(col.Name)-1] - '1') // links_count_N
			switch {
			case n == 0:
				key = col.KeyPrefix + mg.g.query
			case n-1 < len(mg.intersect):
				key = col.KeyPrefix + mg.intersect[n-1]
			default:
				continue // no domain #N: no key
			}
		case q.alias[col.Name] && st.i%2 == 1 && len(col.Keys) > 1:
			key = col.Keys[1]
		}
		if !first {
			s = append(s, ',')
		}
		s = appendString(s, key)
		s = append(s, ':')
		if first && st.unexpected {
			s = append(s, `{"unexpected":true}`...)
			first = false
			continue
		}
		first = false
		v := &r.vals[c]
		if v.Null || st.nulls && nulled(col) {
			s = append(s, "null"...)
			continue
		}
		switch col.Kind {
		case serpstat.KindInt:
			s = appendInt(s, v.Int, st.numStrings || q.strNums[col.Name] && st.i%2 == 1)
		case serpstat.KindFloat:
			if st.numStrings {
				s = appendString(s, strconv.FormatFloat(v.Float, 'f', -1, 64))
			} else {
				s = strconv.AppendFloat(s, v.Float, 'f', -1, 64)
			}
		case serpstat.KindStrings:
			s = append(s, '[')
			for k, e := range v.List {
				if k > 0 {
					s = append(s, ',')
				}
				s = appendString(s, e)
			}
			s = append(s, ']')
		default:
			s = appendString(s, v.Str)
		}
	}
	if st.unknown {
		s = append(s, `,"`+UnknownKey+`":`...)
		s = append(s, unknownValue(st.i)...)
	}
	return append(s, '}')
}

// decoded is r as DecodeAnswer reads it written in style st.
func (mg *mgen) decoded(r *mrow, st mstyle) serpstat.Row {
	out := serpstat.Row{Values: make([]serpstat.Value, len(r.vals))}
	for c, col := range mg.mi.m.Columns {
		v := r.vals[c]
		if v.Null || st.nulls && nulled(col) {
			v = serpstat.Value{Null: true}
		}
		v.List = slices.Clone(v.List) // not the shared name lists
		out.Values[c] = v
	}
	if st.unknown {
		out.Extra = extraOf(st.i)
	}
	return out
}

// extraOf is Row.Extra of a row with UnknownKey.
func extraOf(i int) []byte {
	s := append([]byte(`{"`+UnknownKey+`":`), unknownValue(i)...)
	return append(s, '}')
}

// style is the wire style of row i.
func (f *Fake) style(i int) mstyle {
	return mstyle{
		i:          i,
		numStrings: f.opts.NumbersAsStrings,
		nulls:      f.opts.NullEvery > 0 && i%f.opts.NullEvery == f.opts.NullEvery-1,
		unknown:    f.opts.UnknownKeyEvery > 0 && i%f.opts.UnknownKeyEvery == f.opts.UnknownKeyEvery-1,
	}
}

// Expected returns the rows an export of the whole query of m with p
// (its SearchType, Intersect, ComplexFilter as the client sends it,
// Extra, Sort and Order; page and size do not matter) must produce, as
// m.DecodeAnswer reads them from this fake's answers, in the order pages
// serve them: every row of the query's data set the filter matches, in
// data-set order or sorted as p asks, with this fake's options applied
// (IgnoreFilters' conditions match every row;
// NullEvery's nulls, UnknownKeyEvery's Extra, getNewBacklinks' included:
// its decoder keeps Extra even though its output has no extra column).
// It does not stop at the wall: past it an export slices the query, and
// its rows come in slice order. It panics on a filter the fake would
// refuse.
func (f *Fake) Expected(m *serpstat.Method, query string, p serpstat.Params) []serpstat.Row {
	if !m.Paged() {
		return f.expectedNotPaged(m, query, p)
	}
	n := f.RowsFor(query)
	sel := selection{m: m, query: query, intersect: p.Intersect, searchType: p.SearchType, n: n,
		extra: newExtraMatch(m, p.Extra), extraKey: extraKey(p.Extra),
		sort: servedSort(m, p), desc: !strings.EqualFold(p.Order, "asc")}
	if len(p.ComplexFilter) > 0 {
		// As a client sends it: dates in the field's format, aliases as
		// the schema's names.
		p.ComplexFilter = m.NormalizeFilter(p.ComplexFilter)
		var err *serpstat.Error
		if m.API == backlinks.NewBacklinks.API {
			sel.filter, err = compileFilter(p.ComplexFilter, f.ignores)
		} else {
			sel.mfilter, err = compileMethodFilter(m, p.ComplexFilter, f.ignores)
		}
		if err != nil {
			panic("serpstattest: Expected: " + err.Message)
		}
		canon, _ := json.Marshal(p.ComplexFilter)
		sel.canon = string(canon)
	}
	idx, count := f.order(sel)
	out := make([]serpstat.Row, 0, count)
	var g gen
	var mg *mgen
	if m.API == backlinks.NewBacklinks.API {
		g = f.gen(query).forSearch(p.SearchType)
	} else {
		p.Query = query
		mg = f.mgenFor(m, p)
	}
	for pos := range count {
		i := pos
		if idx != nil {
			i = int(idx[pos])
		}
		if mg == nil {
			r := g.row(i)
			out = append(out, newBacklinkRow(&r.Backlink, f.style(i)))
			continue
		}
		r := mg.row(i)
		out = append(out, mg.decoded(&r, f.style(i)))
	}
	return out
}

// newBacklinkRow is a getNewBacklinks row as the decoder reads it.
func newBacklinkRow(b *Backlink, st mstyle) serpstat.Row {
	r := b.Row()
	if st.nulls {
		r.Values[5], r.Values[8] = serpstat.Value{Null: true}, serpstat.Value{Null: true}
	}
	if st.unknown {
		r.Extra = extraOf(st.i)
	}
	return r
}
