package serpstattest

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// This file serves the methods of backlinks.NotPaged: one answer per
// query, in the spec's example shapes, billed as each method's
// descriptor says (serpstat.Method.Billed: getSummaryV2 and getSummary 5
// credits, getIntersectSummary a credit a row, the others 1; an answer
// without data 1, an error nothing).
//
// The data of a (method, query) are computed from the query's seed, so
// a test computes what each domain gives with Expected:
//
//   - summary-v2 and summary: one object of counts (the *_change and
//     *Dynamics counts may be negative, serpstat_domain_rank and
//     domainRank are 0..100); the getSummaryV2 key is the spec's
//     sersptat_domain_rank;
//   - top-anchors: min(10, RowsFor) anchors, the most referring domains
//     first, with summary_info's referring_domains, backlinks and
//     unique_anchors;
//   - intersect-summary: a row for every combination of the query and
//     its intersect domains (3 or 7), in the spec's order, billed a
//     credit a row;
//   - distribution-sdr: the 11 SDR ranges;
//   - distribution-tld: TLDRows(query) top-level domains, summary_info
//     beside result as the spec's schema puts it, percentages of two
//     decimals; lang (en, ru, uk, de, se) is checked and does not change
//     the data;
//   - changes-history: HistoryDays(query) weekly dates from 2025-01-06.
//
// Every count follows the query's data set, RowsFor(query) rows (and
// InsertRows once inserted): it is its seed's value plus that many, so
// rows added mid-run (Grow, fake-api's /grow) add as many to every count
// of summary-v2 and summary (their ranks aside), to each top
// anchor's backlinks and domains, to each combination of
// intersect-summary, each SDR range and each top-level domain (whose
// percentages follow), and to new_links of changes-history's newest date.
//
// A query whose RowsFor is 0 or less has no data: an empty answer
// (data [] or {}), or the error NoDataAsError or EmptyResult404 ask for,
// billed 1. NumbersAsStrings, NullEvery and UnknownKeyEvery apply to the
// rows as to a paged method's (row i of the answer); FaultUnexpected
// makes the first value of the first row an object. Params other than
// query, searchType, intersect (getIntersectSummary) and lang
// (getDistributionTLD) are refused as a schema error: a client sends no
// page, size, sort, order or complexFilter to a method that is not paged.

// notPagedParams are the params a method that is not paged documents
// beyond query, searchType and intersect, with their values.
var notPagedParams = map[string]map[string][]string{
	"distribution-tld": {"lang": {"en", "ru", "uk", "de", "se"}},
}

// The history's first date, a Monday, as the spec's example.
const historyFrom = "2025-01-06"

// sdrRanges are getDistributionSDR's ranges, as the spec's example.
var sdrRanges = []string{"0", "1 - 9", "10 - 19", "20 - 29", "30 - 39", "40 - 49", "50 - 59", "60 - 69", "70 - 79", "80 - 89", "90 - 100"}

// tldCountries are the top-level domains getDistributionTLD answers,
// with their country (none for generic ones), some of them awkward.
var tldCountries = [][3]string{
	{".com", "", ""}, {".org", "", ""}, {".de", "Germany", "de"}, {".uk", "United Kingdom", "gb"},
	{".net", "", ""}, {".fr", "France", "fr"}, {".nl", "Netherlands", "nl"}, {".it", "Italy", "it"},
	{".br", "Brazil", "br"}, {".au", "Australia", "au"}, {".рф", "Russian Federation", "ru"},
	{".ci", "Côte d'Ivoire", "ci"}, {".kr", "Korea, Republic of", "kr"}, {".jp", "Japan", "jp"},
	{".ua", "Ukraine", "ua"}, {".pl", "Poland", "pl"}, {".es", "Spain", "es"},
	{".st", "São Tomé and Príncipe", "st"}, {".in", "India", "in"}, {".cn", "China", "cn"},
	{".ca", "Canada", "ca"}, {".ch", "Switzerland", "ch"}, {".se", "Sweden", "se"},
	{".be", "Belgium", "be"}, {".info", "", ""},
}

// TLDRows is how many rows getDistributionTLD answers for query (when
// its RowsFor is at least that): 1 to 25, by the query.
func TLDRows(query string) int { return 1 + int(newGen(query).seed%uint64(len(tldCountries))) }

// HistoryDays is how many dates getBacklinksChangesHistory answers for
// query (when its RowsFor is at least that): 1 to 60, by the query.
func HistoryDays(query string) int { return 1 + int((newGen(query).seed>>8)%60) }

// notPagedByAPI returns the method of backlinks.NotPaged whose full API
// name is name, or nil.
func notPagedByAPI(name string) *serpstat.Method {
	for _, m := range backlinks.NotPaged {
		if m.API == name {
			return m
		}
	}
	return nil
}

// decodeNotPagedParams decodes and checks the params of m, a method
// that is not paged, as strictly as its spec documents them.
func decodeNotPagedParams(m *serpstat.Method, raw json.RawMessage) (params, *serpstat.Error) {
	p := params{m: m}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return p, schemaErr("params: required")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return p, schemaErr("params: must be an object")
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		switch {
		case k == "query":
			if json.Unmarshal(v, &p.Query) != nil {
				return p, schemaErr("params.query: must be a string")
			}
		case k == "searchType" && m.SearchTypes != nil:
			if json.Unmarshal(v, &p.SearchType) != nil {
				return p, schemaErr("params.searchType: must be a string")
			}
			if !slices.Contains(m.SearchTypes, p.SearchType) {
				return p, schemaErr("params.searchType: must be one of " + strings.Join(m.SearchTypes, ", "))
			}
		case k == "intersect" && m.Intersect > 0:
			if json.Unmarshal(v, &p.Intersect) != nil {
				return p, schemaErr("params.intersect: must be an array of strings")
			}
		case notPagedParams[m.Name][k] != nil:
			var s string
			if json.Unmarshal(v, &s) != nil || !slices.Contains(notPagedParams[m.Name][k], s) {
				return p, schemaErr("params." + k + ": must be one of " + strings.Join(notPagedParams[m.Name][k], ", "))
			}
		default:
			return p, schemaErr("params." + k + ": not allowed: " + shortAPI(m) + " does not take it")
		}
	}
	switch {
	case p.Query == "":
		return p, schemaErr("params.query: required")
	case m.Intersect > 0 && (len(p.Intersect) == 0 || len(p.Intersect) > m.Intersect):
		return p, schemaErr("params.intersect: must hold 1 to " + strconv.Itoa(m.Intersect) + " domains")
	case m.Intersect > 0 && slices.Contains(p.Intersect, ""):
		return p, schemaErr("params.intersect: a domain must not be empty")
	}
	return p, nil
}

// answerOf is the data of m for query (and intersect): its rows, and
// what summary_info says beside left_lines.
type answerOf struct {
	mg   *mgen
	rows []mrow
	// info is summary_info's members other than left_lines, as JSON
	// text after a comma; outer puts summary_info beside result.
	info  string
	outer bool
}

// notPagedAnswer computes m's answer for query and intersect.
func (f *Fake) notPagedAnswer(m *serpstat.Method, query string, intersect []string) answerOf {
	mg := f.mgen(m, query, intersect)
	a := answerOf{mg: mg}
	// avail is the query's data set, growth (Grow, InsertRows) included:
	// the lists get rows up to their size from it, and every count adds
	// it, so that rows arriving mid-run change what each method answers.
	avail := f.RowsFor(query) + f.insertedNow()
	grow := int64(avail)
	seed := mg.g.seed
	rnd := func(k uint64) uint64 { return mix64(seed ^ mix64(k+0x9e3779b97f4a7c15)) }
	add := func(vals ...serpstat.Value) {
		a.rows = append(a.rows, mrow{vals: vals})
	}
	n := func(want int) int { return max(0, min(want, avail)) }
	str := func(s string) serpstat.Value { return serpstat.Value{Str: s} }
	num := func(v int64) serpstat.Value { return serpstat.Value{Int: v} }
	switch m.Name {
	case "summary-v2", "summary":
		if n(1) == 0 {
			break
		}
		vals := make([]serpstat.Value, len(m.Columns))
		for c, col := range m.Columns {
			r := rnd(uint64(c))
			switch {
			case col.Name == "serpstat_domain_rank" || col.Name == "domain_rank":
				vals[c] = num(int64(r % 101))
			case strings.HasSuffix(col.Name, "_change") || strings.HasSuffix(col.Name, "_dynamics"):
				vals[c] = num(skew(r, 3000) - skew(r>>20, 3000) + growCount(col.Name, grow))
			default:
				vals[c] = num(skew(r, 2_000_000) + growCount(col.Name, grow))
			}
		}
		add(vals...)
		a.info = `"sort":null,"order":null`
		if m.Name == "summary" {
			a.info = `"page":1,"count":null,"total":null,` + a.info
		}
	case "top-anchors":
		var refs, links int64
		k := n(10)
		for i := range k {
			r := rnd(uint64(i))
			domains := int64(100000/(i+1)) + int64(r%97) + grow
			backlinks := domains + skew(r>>16, 500000) // grown with domains
			refs, links = refs+domains, links+backlinks
			add(str(uniqueAnchor(i, pick(anchors, r>>32))), num(backlinks), num(domains))
		}
		a.info = `"sort":"referring_domains","order":"desc","referring_domains":` + strconv.FormatInt(refs+int64(seed%1000), 10) +
			`,"backlinks":` + strconv.FormatInt(links+int64(seed%5000), 10) + `,"unique_anchors":` + strconv.Itoa(k+int(seed%300))
	case "intersect-summary":
		names := append([]string{query}, intersect...)
		if n(1) > 0 {
			for set := 1; set < 1<<len(names); set++ {
				var in []string
				for b, d := range names {
					if set&(1<<b) != 0 {
						in = append(in, d)
					}
				}
				add(num(1+skew(rnd(uint64(set)), 1000)/int64(len(in))+grow), str(strings.Join(in, ", ")))
			}
		}
		a.info = `"page":1,"count":` + strconv.Itoa(len(a.rows)) + `,"total":0,"sort":"","order":""`
	case "distribution-sdr":
		for i := range n(len(sdrRanges)) {
			add(str(sdrRanges[i]), num(skew(rnd(uint64(i)), 12_000_000)/int64(i+1)+grow))
		}
		a.info = `"sort":"","order":""`
	case "distribution-tld":
		k := n(TLDRows(query))
		counts := make([]int64, k)
		var total int64
		for i := range counts {
			counts[i] = 1 + int64(20_000_000/(i+1))/(1+int64(rnd(uint64(i))%3)) + grow
			total += counts[i]
		}
		slices.SortFunc(counts, func(a, b int64) int { return int(b - a) })
		order := slices.Clone(tldCountries)
		start := int(seed % uint64(len(order)))
		for i := range k {
			t := order[(start+i)%len(order)]
			pct := math.Round(float64(counts[i])*10000/float64(total)) / 100
			add(str(t[0]), str(t[1]), str(t[2]), serpstat.Value{Float: pct}, num(counts[i]))
		}
		biggest := 0.0
		if k > 0 {
			biggest = a.rows[0].vals[3].Float
		}
		a.info = `"sort":"percentage","order":"desc","tld_count":` + strconv.Itoa(k) + `,"domains_count":` + strconv.FormatInt(total, 10) +
			`,"biggest_tld_percentage":` + strconv.FormatFloat(biggest, 'f', -1, 64)
		a.outer = true
	case "changes-history":
		from, _ := time.Parse(time.DateOnly, historyFrom)
		days := n(HistoryDays(query))
		for i := range days {
			r := rnd(uint64(i))
			found := skew(r>>24, 1000)
			if i == days-1 {
				found += grow // the newest date found the data set's rows
			}
			add(str(from.AddDate(0, 0, 7*i).Format(time.DateOnly)), num(skew(r, 5000)), num(found))
		}
		a.info = `"page":1,"count":` + strconv.Itoa(len(a.rows)) + `,"total":null,"sort":null,"order":null`
	}
	return a
}

// growCount is what growth adds to the count of summary-v2 or summary
// named col: grow, except to a rank (trust_rank, citation_rank and their
// dynamics), which rows do not add to.
func growCount(col string, grow int64) int64 {
	if strings.Contains(col, "rank") {
		return 0
	}
	return grow
}

// getAnswer answers a request of a method that is not paged whose
// params decoded to p (perr if they were refused), billing it.
func (f *Fake) getAnswer(e *Entry, p *params, perr *serpstat.Error) []byte {
	if perr != nil {
		e.Outcome = OutcomeInvalid
		return errorBody(e.ID, perr.Code, perr.Message, perr.Data)
	}
	m := p.m
	a := f.notPagedAnswer(m, p.Query, p.Intersect)
	rows := len(a.rows)
	cost := m.Billed(rows)
	key := PageKey{Query: p.Query, Method: m.Name, Intersect: strings.Join(p.Intersect, ",")}
	left, refusal := f.bill(e, key, rows, cost, false)
	if refusal != nil {
		return refusal
	}

	str := f.opts.NumbersAsStrings
	info := append(appendInt([]byte(`{"left_lines":`), left, str), ',')
	info = append(info, a.info...)
	info = bytes.TrimSuffix(info, []byte(","))
	info = append(info, '}')

	s := append([]byte(`{"id":`), nil...)
	s = appendString(s, e.ID)
	s = append(s, `,"result":{`...)
	if !a.outer {
		s = append(append(append(s, `"summary_info":`...), info...), ',')
	}
	s = append(s, `"data":`...)
	switch {
	case m.NotPaged.Object && rows > 0:
		s = a.mg.appendRow(s, &a.rows[0], f.notPagedStyle(0, p.unexpected))
	case m.NotPaged.Object:
		s = append(s, "{}"...)
	default:
		s = append(s, '[')
		for i := range a.rows {
			if i > 0 {
				s = append(s, ',')
			}
			s = a.mg.appendRow(s, &a.rows[i], f.notPagedStyle(i, p.unexpected && i == 0))
		}
		s = append(s, ']')
	}
	s = append(s, '}')
	if a.outer {
		s = append(append(s, `,"summary_info":`...), info...)
	}
	return append(s, '}')
}

// notPagedStyle is the wire style of row i of an answer.
func (f *Fake) notPagedStyle(i int, unexpected bool) mstyle {
	st := f.style(i)
	st.unexpected = unexpected
	return st
}

// expectedNotPaged is Expected of a method that is not paged.
func (f *Fake) expectedNotPaged(m *serpstat.Method, query string, p serpstat.Params) []serpstat.Row {
	a := f.notPagedAnswer(m, query, p.Intersect)
	out := make([]serpstat.Row, 0, len(a.rows))
	for i := range a.rows {
		out = append(out, a.mg.decoded(&a.rows[i], f.style(i)))
	}
	return out
}
