package serpstattest

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// The generated data sets. Every query has an unbounded, deterministic
// sequence of rows; Options.Rows or Options.RowsFor says how many of them
// the query matches. Row i of a query does not depend on that count, so the
// first rows of a big data set are those of a small one.
const (
	// FirstSeenFrom and FirstSeenTo bound first_seen of ordinary queries:
	// every row's first_seen is one of these 731 days, spread evenly, in no
	// particular order, so date filters on "add" split a data set.
	FirstSeenFrom = "2023-01-01"
	FirstSeenTo   = "2024-12-31"
	// LastVisitedTo bounds last_visited: it is between first_seen and the
	// end of this day.
	LastVisitedTo = "2025-06-30"
	// OneDayPrefix marks a query whose rows were all first seen on
	// OneDayDate: "oneday.example.com" is such a query. Use it (with
	// Options.RowsFor) for a data set that date slicing cannot split.
	OneDayPrefix = "oneday."
	// OneDayDate is first_seen of every row of a OneDayPrefix query.
	OneDayDate = "2024-06-15"
	// GrowingPrefix marks a query whose rows are first seen in index
	// order, GrowingRowsPerDay a day from FirstSeenFrom (the last day takes
	// the rest): "growing.example.com" is such a query. Raising its row
	// count (Options.RowsFor) adds rows newer than every earlier one, as
	// backlinks found since the last run: the data set of incremental loads.
	GrowingPrefix = "growing."
	// GrowingRowsPerDay is how many rows of a GrowingPrefix query share a
	// first_seen day.
	GrowingRowsPerDay = 100
)

// The calendar the rows are drawn from: day 0 is 2023-01-01.
var (
	dayStrings []string // "YYYY-MM-DD"
	dayKeys    []int    // YYYYMMDD
	firstDays  int      // days in FirstSeenFrom..FirstSeenTo
	lastDay    int      // index of LastVisitedTo
	oneDay     int      // index of OneDayDate
)

func init() {
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := start; d.Format(time.DateOnly) <= LastVisitedTo; d = d.AddDate(0, 0, 1) {
		s := d.Format(time.DateOnly)
		switch s {
		case FirstSeenTo:
			firstDays = len(dayStrings) + 1
		case OneDayDate:
			oneDay = len(dayStrings)
		}
		dayStrings = append(dayStrings, s)
		y, m, dd := d.Date()
		dayKeys = append(dayKeys, y*10000+int(m)*100+dd)
	}
	lastDay = len(dayStrings) - 1
}

// Word lists the rows are made of. The anchors are the awkward part: a good
// fraction hold quotes, commas, line breaks, tabs, backslashes, non-ASCII
// text (accents, CJK, emoji, right-to-left scripts), leading spreadsheet
// formula characters (= + - @) or nothing at all. All are valid UTF-8.
var (
	hostPrefixes = []string{"", "", "www.", "www.", "m.", "blog.", "forum.", "en.", "news.", "shop."}
	domainWords  = []string{
		"seo", "web", "link", "data", "green", "blue", "smart", "daily", "tech", "travel",
		"food", "home", "garden", "auto", "music", "photo", "health", "crypto", "game", "book",
		"city", "local", "market", "digital", "pixel", "cloud", "mobile", "sport", "fashion", "pet",
		"art", "code", "review", "deal", "world", "studio", "lab", "hub", "zone", "point",
	}
	tlds    = []string{"com", "com", "com", "net", "org", "de", "fr", "co.uk", "io", "ua", "pl", "es", "it", "info", "online", "site"}
	idnURLs = []string{
		"https://bücher-welt.de/",
		"https://www.café-crème.fr/blog/liens",
		"https://пример.рф/статья?id=1,2",
		"https://例え.jp/ページ/リンク",
		"https://xn--mnchen-3ya.de/",
		"https://straße.example/weg",
		"https://موقع.مثال/صفحة",
		"https://🚀rocket.ws/launch",
	}
	fromPaths = []string{
		"", "", "", "blog/", "news/", "about", "links.html", "resources/",
		"index.php?a=1,2", "search?q=%22seo%22&page=2", `go?u="quoted"`, "wiki/Café",
		"tag/日本語/", "p?id=1,2,3&ref=a,b", "forum/thread/", "partners/", "2024/05/review/",
		`path\with\backslash`, "article?title=a+b&x=1", "category/seo-tools/", "amp/", "?s=link",
	}
	toPaths = []string{
		"", "", "", "blog/", "pricing/", "features/", "blog/how-to-build-links/",
		"users/login/", "tools/backlink-checker/", "?utm_source=partner&a=1,2",
		"blog/café-guide/", "docs/api/", "ru/", "ua/", "de/", "blog/seo-tips/",
	}
	anchors = []string{
		// Plain text.
		"Read more", "SEO tools", "click here", "best backlink checker 2024",
		"Serpstat review", "home", "website", "this article", "source", "official site",
		"keyword research guide", "link building tips", "domain analysis", "learn more",
		"Top 10 SEO platforms", "here",
		// Empty.
		"", "",
		// Quotes, commas, line breaks, tabs, backslashes.
		`He said "great tool"`,
		"tools, tips, and tricks",
		"line one\nline two",
		"windows line\r\nbreak",
		"tab\tseparated\tanchor",
		`C:\path\to\file`,
		`a \"escaped\" quote`,
		"\"quoted, with comma\"\nand a newline",
		"  padded anchor  ",
		"trailing backslash \\",
		// Non-ASCII.
		"Café crème résumé",
		"日本語のリンク",
		"🚀 launch your site",
		"مرحبا بالعالم",
		"שלום עולם",
		"Zürich – naïve façade",
		"family 👨‍👩‍👧 emoji 👍🏽",
		"Ünïcödé, \"quoted\"\ttabbed",
		// Spreadsheet formula injection.
		`=HYPERLINK("http://evil.example","click")`,
		"=1+2",
		"+1 for this",
		"-10% discount",
		"@mention me",
		"=cmd|' /C calc'!A0",
	}
	nofollows = []string{"follow", "nofollow", "ugc", "sponsored", "nofollow,ugc"}
	linkTypes = []string{"href", "image", "redirect", "frame", "rss", "alternate", "form", "canonical"}
)

// gen makes the rows of one query.
type gen struct {
	query   string
	seed    uint64
	oneDay  bool
	growing bool
	toBase  string // "https://<query>/"
	// toPage, when set, is every row's url_to: the page of a url search
	// (forSearch).
	toPage string
	// sameDay is how many rows in a million are first seen on OneDayDate
	// (Options.SameDayShare), spread evenly over the data set.
	sameDay uint64
}

func newGen(query string) gen {
	// FNV-1a, then a finalizer, so similar queries get unrelated rows.
	h := uint64(14695981039346656037)
	for i := 0; i < len(query); i++ {
		h ^= uint64(query[i])
		h *= 1099511628211
	}
	return gen{
		query:   query,
		seed:    mix64(h),
		oneDay:  strings.HasPrefix(query, OneDayPrefix),
		growing: strings.HasPrefix(query, GrowingPrefix),
		toBase:  "https://" + query + "/",
	}
}

// forSearch is g for a query of search type st: with url, every row's
// target page (url_to) is the query itself; with part_url, a page under
// it (the query, with https:// when it has none, a slash, then a path),
// so that every target starts with the query. Row i is otherwise the
// same. The other search types leave g as it is.
func (g gen) forSearch(st string) gen {
	switch st {
	case serpstat.SearchURL:
		g.toPage = g.query
	case serpstat.SearchPartURL:
		base := g.query
		if !strings.Contains(base, "://") {
			base = "https://" + base
		}
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
		g.toBase = base
	}
	return g
}

// mix64 is the splitmix64 finalizer.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// row is a generated row with its dates as YYYYMMDD, for filters.
type row struct {
	Backlink
	addKey, checkKey int
	fsDay, lvDay     int // indexes of first_seen and last_visited in dayStrings
}

// pick returns one of list, chosen by r.
func pick(list []string, r uint64) string { return list[r%uint64(len(list))] }

func (g *gen) row(i int) row {
	x := g.seed + uint64(i)*0x9e3779b97f4a7c15
	r0 := mix64(x)
	r1 := mix64(x ^ 0x5851f42d4c957f2d)
	r2 := mix64(x ^ 0x14057b7ef767814f)
	r3 := mix64(x ^ 0x2545f4914f6cdd1d)

	var out row
	b := &out.Backlink

	// url_from: many domains (10 prefixes x 40 x 40 words x 1000 numbers x
	// 16 TLDs), a few internationalized ones, some awkward paths.
	if r0%100 < 5 {
		b.URLFrom = pick(idnURLs, r0>>8)
	} else {
		var buf [128]byte
		s := append(buf[:0], "https://"...)
		s = append(s, pick(hostPrefixes, r0>>8)...)
		s = append(s, pick(domainWords, r0>>16)...)
		s = append(s, '-')
		s = append(s, pick(domainWords, r0>>24)...)
		s = strconv.AppendUint(s, (r0>>32)%1000, 10)
		s = append(s, '.')
		s = append(s, pick(tlds, r0>>42)...)
		s = append(s, '/')
		s = append(s, pick(fromPaths, r0>>48)...)
		b.URLFrom = string(s)
	}

	// url_to: a page of the queried domain, or the queried page.
	if g.toPage != "" {
		b.URLTo = g.toPage
	} else {
		b.URLTo = g.toBase + pick(toPaths, r1)
	}

	switch v := (r1 >> 8) % 100; {
	case v < 60:
		b.Nofollow = nofollows[0]
	case v < 82:
		b.Nofollow = nofollows[1]
	case v < 89:
		b.Nofollow = nofollows[2]
	case v < 96:
		b.Nofollow = nofollows[3]
	default:
		b.Nofollow = nofollows[4]
	}
	if v := (r1 >> 16) % 100; v < 65 {
		b.LinkType = linkTypes[0]
	} else {
		b.LinkType = linkTypes[1+(v-65)%uint64(len(linkTypes)-1)]
	}
	v := (r1 >> 24) % 1000
	b.LinksExt = serpstat.Int(v * v / 2000) // 0..499, mostly small
	b.DomainRank = serpstat.Int((r1 >> 40) % 101)

	b.LinkText = pick(anchors, r2)

	fs := int((r2 >> 16) % uint64(firstDays))
	if g.oneDay {
		fs = oneDay
	}
	if g.growing {
		fs = min(i/GrowingRowsPerDay, firstDays-1)
	}
	if g.sameDay > 0 && (uint64(i)+1)*g.sameDay/1e6 > uint64(i)*g.sameDay/1e6 {
		// Exactly floor(n×share) of the first n rows, for any n.
		fs = oneDay
	}
	lv := fs + int((r2>>32)%uint64(lastDay-fs+1))
	b.FirstSeen = dayStrings[fs]
	secs := int(r3 % 86400)
	var buf [19]byte
	copy(buf[:], dayStrings[lv])
	buf[10] = ' '
	put2(buf[11:], secs/3600)
	buf[13] = ':'
	put2(buf[14:], secs/60%60)
	buf[16] = ':'
	put2(buf[17:], secs%60)
	b.LastVisited = string(buf[:])
	out.addKey, out.checkKey = dayKeys[fs], dayKeys[lv]
	out.fsDay, out.lvDay = fs, lv
	return out
}

func put2(b []byte, n int) { b[0], b[1] = byte('0'+n/10), byte('0'+n%10) }

// Row returns row i (0-based, in the API's order) of query's data set. It
// is computed from (query, i) alone, so data sets of any size cost no
// memory, and the same (query, i) always gives the same row. Safe for
// concurrent use.
func Row(query string, i int) Backlink {
	g := newGen(query)
	return g.row(i).Backlink
}

// Rows returns rows 0..n-1 of query's data set: what a Fake serves for
// query, without a filter, when it matches at least n rows.
func Rows(query string, n int) []Backlink {
	g := newGen(query)
	out := make([]Backlink, n)
	for i := range out {
		out[i] = g.row(i).Backlink
	}
	return out
}

// rowStyle is how appendRow writes the variants the API documents.
type rowStyle struct {
	rankAsString  bool // domain_rank as a string ("25"), as the schema types it
	linksAsString bool // links_ext as a string ("92")
	nulls         bool // link_text and domain_rank null
	unknown       bool // UnknownKey added (Options.UnknownKeyEvery)
	i             int  // the row's data-set index, for UnknownKey
}

// appendInt appends v as a JSON number, or a string holding one.
func appendInt(s []byte, v int64, asString bool) []byte {
	if !asString {
		return strconv.AppendInt(s, v, 10)
	}
	s = append(s, '"')
	s = strconv.AppendInt(s, v, 10)
	return append(s, '"')
}

// appendRow appends b as the API's JSON object, in style st.
func appendRow(s []byte, b *Backlink, st rowStyle) []byte {
	s = append(s, `{"url_from":`...)
	s = appendString(s, b.URLFrom)
	s = append(s, `,"url_to":`...)
	s = appendString(s, b.URLTo)
	s = append(s, `,"nofollow":`...)
	s = appendString(s, b.Nofollow)
	s = append(s, `,"link_type":`...)
	s = appendString(s, b.LinkType)
	s = append(s, `,"links_ext":`...)
	s = appendInt(s, int64(b.LinksExt), st.linksAsString)
	s = append(s, `,"link_text":`...)
	if st.nulls {
		s = append(s, "null"...)
	} else {
		s = appendString(s, b.LinkText)
	}
	s = append(s, `,"first_seen":`...)
	s = appendString(s, b.FirstSeen)
	s = append(s, `,"last_visited":`...)
	s = appendString(s, b.LastVisited)
	s = append(s, `,"domain_rank":`...)
	if st.nulls {
		s = append(s, "null"...)
	} else {
		s = appendInt(s, int64(b.DomainRank), st.rankAsString)
	}
	if st.unknown {
		s = append(s, `,"`+UnknownKey+`":`...)
		s = append(s, unknownValue(st.i)...)
	}
	return append(s, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends v as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028 and U+2029 are escaped, as encoding/json does.
func appendString(s []byte, v string) []byte {
	s = append(s, '"')
	start := 0
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			s = append(s, v[start:i]...)
			switch c {
			case '"', '\\':
				s = append(s, '\\', c)
			case '\n':
				s = append(s, '\\', 'n')
			case '\r':
				s = append(s, '\\', 'r')
			case '\t':
				s = append(s, '\\', 't')
			default:
				s = append(s, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			s = append(s, v[start:i]...)
			if r == utf8.RuneError {
				s = append(s, `\ufffd`...)
			} else {
				s = append(s, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	s = append(s, v[start:]...)
	return append(s, '"')
}
