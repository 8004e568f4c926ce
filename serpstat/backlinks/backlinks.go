// Package backlinks describes the methods of Serpstat's Backlinks API
// (SerpstatBacklinksProcedure) as serpstat.Method values: the fourteen
// paged ones (Methods) with their columns, wire keys and aliases, params,
// sort and filter fields, slicing dimensions and incremental cursors, and
// the seven that are not paged (NotPaged, notpaged.go) with their
// columns, answer shape and price, from Serpstat's own OpenAPI spec
// (../shared/serpstat/backlinks-methods.md). Adding a method is adding a
// descriptor here, and its data to serpstattest.
package backlinks

import (
	"slices"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

const procedure = "SerpstatBacklinksProcedure."

// Search types, documented for every method that takes searchType. The
// methods whose spec gives searchType the schema searchTypeUrl
// (getNewBacklinks, getLostBacklinks, getOutlinks, getLostOutlinks,
// getOutDomains, getAnchors) also take url and part_url: that schema's
// enum lists domain and domain_with_subdomains only, but its description
// documents url and part_url too, and both are accepted.
var (
	domainSearch = []string{serpstat.SearchDomain, serpstat.SearchDomainWithSubdomains}
	urlSearch    = []string{serpstat.SearchDomain, serpstat.SearchDomainWithSubdomains, serpstat.SearchURL, serpstat.SearchPartURL}
)

// Documented enumerations of filter values. The values answers hold for
// link_type (href, frame, ...) are not filter values.
var (
	linkTypeValues = []string{"text", "redirect", "iframe", "form", "canonical", "rss", "alternate", "image"}
	nofollowValues = []string{"follow", "nofollow", "ugc", "sponsored", "0", "1", "2", "4"}
)

func col(name string, kind serpstat.Kind, keys ...string) serpstat.Column {
	if len(keys) == 0 {
		keys = []string{name}
	}
	return serpstat.Column{Name: name, Kind: kind, Keys: keys}
}

func str(name string, keys ...string) serpstat.Column { return col(name, serpstat.KindString, keys...) }
func num(name string, keys ...string) serpstat.Column { return col(name, serpstat.KindInt, keys...) }

func filter(name string, kind serpstat.Kind, column string, values ...string) serpstat.FilterField {
	return serpstat.FilterField{Name: name, Kind: kind, Column: column, Values: values}
}

// alias adds spellings of ff that the spec's examples use.
func alias(ff serpstat.FilterField, names ...string) serpstat.FilterField {
	ff.Aliases = names
	return ff
}

// The link filters shared by the link methods (getNewBacklinks,
// getLostBacklinks, getOutlinks, getLostOutlinks).
var linkFilters = []serpstat.FilterField{
	filter("url_from", serpstat.KindString, "url_from"),
	filter("anchor", serpstat.KindString, "link_text"),
	filter("link_nofollow", serpstat.KindString, "nofollow", nofollowValues...),
	filter("links_external", serpstat.KindInt, "links_ext"),
	filter("link_type", serpstat.KindString, "", linkTypeValues...),
	filter("url_to", serpstat.KindString, "url_to"),
	filter("check", serpstat.KindDate, "last_visited"),
}

// linkColumns are the columns of a link row, date_del where the method has it.
func linkColumns(dateDel bool, domainRank bool) []serpstat.Column {
	cols := []serpstat.Column{
		str("url_from"), str("url_to"), str("nofollow"), str("link_type"),
		num("links_ext"), str("link_text"),
		col("first_seen", serpstat.KindDate), col("last_visited", serpstat.KindTimestamp),
	}
	if dateDel {
		cols = append(cols, col("date_del", serpstat.KindTimestamp))
	}
	if domainRank {
		cols = append(cols, num("domain_rank"))
	}
	return cols
}

var linkSorts = []string{"url_from", "anchor", "link_nofollow", "links_external", "link_type", "url_to", "check"}

// The slicing dimensions of a link method without a first-seen filter.
var linkSlices = []string{"links_external", "link_type", "link_nofollow", "check"}

func threatColumns(links bool) []serpstat.Column {
	cols := []serpstat.Column{str("domain")}
	if links {
		cols = append(cols, str("link_from"), str("link_to"))
	} else {
		cols = append(cols, str("domain_link"), num("links_count"))
	}
	return append(cols,
		col("platform_type", serpstat.KindStrings), col("threat_type", serpstat.KindStrings),
		col("lastupdate", serpstat.KindDate))
}

// PlatformCodes and ThreatCodes are the codes the threat methods'
// platform_type and threat_type filters take, as the spec documents them,
// with the names answers hold for them (Google Safe Browsing's
// PlatformType and ThreatType, lower case: ["windows","linux","osx"]).
// Threat code 9 is not documented, but the spec's own example filters
// send it. Read-only.
var (
	PlatformCodes = []serpstat.Code{
		{Code: "1", Name: "windows", Meaning: "windows"},
		{Code: "2", Name: "linux", Meaning: "linux"},
		{Code: "3", Name: "android", Meaning: "android"},
		{Code: "4", Name: "osx", Meaning: "OS X"},
		{Code: "5", Name: "ios", Meaning: "IOS"},
		{Code: "6", Name: "any_platform", Meaning: "any OS"},
		{Code: "7", Name: "all_platforms", Meaning: "all OS"},
		{Code: "8", Name: "chrome", Meaning: "chrome OS"},
	}
	ThreatCodes = []serpstat.Code{
		{Code: "1", Name: "malware", Meaning: "malware"},
		{Code: "2", Name: "social_engineering", Meaning: "social engineering"},
		{Code: "3", Name: "unwanted_software", Meaning: "unwanted software"},
		{Code: "4", Name: "potentially_harmful_application", Meaning: "potentially harmful application"},
		{Code: "9", Meaning: "code used in the spec's example, meaning undocumented"},
	}
)

func threatFilters(links bool) []serpstat.FilterField {
	// The threat methods alone document lastupdate as YYYY-MM-DD.
	fs := []serpstat.FilterField{{Name: "lastupdate", Kind: serpstat.KindDate, DateFormat: serpstat.DateISO, Column: "lastupdate"}}
	if links {
		fs = append(fs, filter("url_from", serpstat.KindString, "link_from"), filter("url_to", serpstat.KindString, "link_to"))
	} else {
		fs = append(fs, filter("domain_link", serpstat.KindString, "domain_link"), filter("links_count", serpstat.KindInt, "links_count"))
	}
	// platform_type and threat_type are filtered by code (1 windows, 2
	// linux, ...), while answers hold lists of names; a row may hold
	// several, so they are no slicing dimension.
	return append(fs,
		serpstat.FilterField{Name: "platform_type", Kind: serpstat.KindStrings, Codes: PlatformCodes, Column: "platform_type"},
		serpstat.FilterField{Name: "threat_type", Kind: serpstat.KindStrings, Codes: ThreatCodes, Column: "threat_type"})
}

func threats(name, api string, links bool, doc string) *serpstat.Method {
	m := &serpstat.Method{
		Name: name, API: procedure + api, Doc: doc,
		Columns: threatColumns(links), Extra: true,
		SearchTypes:   domainSearch,
		Filters:       threatFilters(links),
		LinkPerDomain: true,
		Cursor:        &serpstat.Cursor{Filter: "lastupdate", Column: "lastupdate"},
		AppendSort:    "lastupdate",
	}
	if links {
		m.Sorts = []string{"lastupdate", "url_from", "url_to", "platform_type", "threat_type"}
		m.DefaultSort = "lastupdate"
		m.Slices = []string{"lastupdate"}
	} else {
		m.Sorts = []string{"lastupdate", "domain_link", "links_count", "platform_type", "threat_type"}
		m.Slices = []string{"lastupdate", "links_count"}
	}
	return m
}

// The methods, each once.
var (
	NewBacklinks = &serpstat.Method{
		Name: "new-backlinks", API: procedure + "getNewBacklinks",
		Doc:     "active backlinks of a site, by first-seen date",
		Columns: linkColumns(false, true),
		// Its nine-column schema predates the extra column; lake readers
		// and scripts rely on it, so unknown keys are counted, not written.
		Extra:             false,
		SearchTypes:       urlSearch,
		Sorts:             append(slices.Clone(linkSorts), "add", "domain_rank"),
		DefaultSort:       "check",
		Filters:           append(slices.Clone(linkFilters), filter("add", serpstat.KindDate, "first_seen")),
		AdditionalFilters: []string{"no_subdomains", "only_main_page", "last_week"},
		LinkPerDomain:     true,
		Slices:            []string{"add", "links_external", "link_type", "link_nofollow", "check"},
		Cursor:            &serpstat.Cursor{Filter: "add", Column: "first_seen"},
		AppendSort:        "add",
	}
	LostBacklinks = &serpstat.Method{
		Name: "lost-backlinks", API: procedure + "getLostBacklinks",
		Doc:     "backlinks a site lost",
		Columns: linkColumns(true, true), Extra: true,
		SearchTypes: urlSearch,
		// The spec lists " anchor" (a stray space); anchor is meant.
		Sorts: linkSorts, DefaultSort: "check",
		Filters:           linkFilters,
		AdditionalFilters: []string{"no_subdomains", "only_main_page", "last_week"},
		LinkPerDomain:     true,
		Slices:            linkSlices,
	}
	Outlinks = &serpstat.Method{
		Name: "outlinks", API: procedure + "getOutlinks",
		Doc:     "external links from a site",
		Columns: linkColumns(true, false), Extra: true,
		SearchTypes: urlSearch,
		Sorts:       linkSorts, DefaultSort: "check",
		Filters:       linkFilters,
		LinkPerDomain: true,
		Slices:        linkSlices,
	}
	LostOutlinks = &serpstat.Method{
		Name: "lost-outlinks", API: procedure + "getLostOutlinks",
		Doc: "external links a site lost",
		// The example answers link_nofollow and links_external where the
		// schema says nofollow and links_ext: one column each.
		Columns: func() []serpstat.Column {
			cols := linkColumns(true, false)
			cols[2].Keys = []string{"nofollow", "link_nofollow"}
			cols[4].Keys = []string{"links_ext", "links_external"}
			return cols
		}(),
		Extra:         true,
		SearchTypes:   urlSearch,
		Sorts:         append(slices.Clone(linkSorts[:6]), "lastupdate"),
		DefaultSort:   "lastupdate",
		Filters:       linkFilters,
		LinkPerDomain: true,
		Slices:        linkSlices,
	}
	RefDomains = &serpstat.Method{
		Name: "ref-domains", API: procedure + "getRefDomains",
		Doc: "referring domains of a site",
		// The schema types ref_pages and domainRank as strings; the
		// example sends numbers. Both are read as integers.
		Columns:     []serpstat.Column{str("domain_from"), num("ref_pages"), num("domain_rank", "domainRank", "domain_rank")},
		Extra:       true,
		SearchTypes: domainSearch,
		Sorts:       []string{"domain_links", "domain_from", "domain_rank", "check"}, DefaultSort: "check",
		Filters: []serpstat.FilterField{
			filter("domain_links", serpstat.KindInt, "ref_pages"),
			filter("domain_from", serpstat.KindString, "domain_from"),
			filter("domain_rank", serpstat.KindInt, "domain_rank"),
		},
		AdditionalFilters: []string{"no_subdomains", "only_subdomains", "only_hosts", "last_week"},
		Slices:            []string{"domain_rank", "domain_links"},
	}
	OutDomains = &serpstat.Method{
		Name: "out-domains", API: procedure + "getOutDomains",
		Doc: "domains a site links to",
		// The schema says domains_to, the example domain_to.
		Columns:     []serpstat.Column{str("domain_to", "domains_to", "domain_to"), num("domain_links"), num("domain_rank")},
		Extra:       true,
		SearchTypes: urlSearch,
		Sorts:       []string{"domain_links", "domain_to", "domain_rank"}, DefaultSort: "domain_rank",
		// The schema's filter says domain_from, its example domain_to
		// (the sort field's name): both are taken, domain_from is sent.
		Filters: []serpstat.FilterField{
			filter("domain_links", serpstat.KindInt, "domain_links"),
			alias(filter("domain_from", serpstat.KindString, "domain_to"), "domain_to"),
			filter("domain_rank", serpstat.KindInt, "domain_rank"),
		},
		AdditionalFilters: []string{"only_subdomains", "only_hosts", "last_week"},
		Slices:            []string{"domain_rank", "domain_links"},
	}
	RedirectedDomains = &serpstat.Method{
		Name: "redirected-domains", API: procedure + "getRedirectedDomains",
		Doc:     "domains that redirect to or from a site",
		Columns: []serpstat.Column{str("domain", "Domain"), num("domain_rank", "Domain Rank")},
		Extra:   true,
		Sorts:   []string{"domain", "domain_rank"},
		Filters: []serpstat.FilterField{
			filter("domain", serpstat.KindString, "domain"),
			filter("domain_rank", serpstat.KindInt, "domain_rank"),
		},
		Slices: []string{"domain_rank"},
	}
	TopPages = &serpstat.Method{
		Name: "top-pages", API: procedure + "getTopPages",
		Doc:         "a site's pages with the most backlinks",
		Columns:     []serpstat.Column{str("url"), num("ref_pages"), num("ref_domains"), num("ips"), str("url_to", "urlTo")},
		Extra:       true,
		SearchTypes: domainSearch,
		Sorts:       []string{"ips", "count", "domains", "url_to", "lastupdate"}, DefaultSort: "lastupdate",
		Filters: []serpstat.FilterField{
			filter("lastupdate", serpstat.KindDate, ""),
			filter("ips", serpstat.KindInt, "ips"),
			filter("count", serpstat.KindInt, "ref_pages"),
			filter("domains", serpstat.KindInt, "ref_domains"),
			filter("url_to", serpstat.KindString, "url_to"),
		},
		AdditionalFilters: []string{"no_subdomains"},
		Slices:            []string{"lastupdate", "ips", "domains"},
	}
	Anchors = &serpstat.Method{
		Name: "anchors", API: procedure + "getAnchors",
		Doc:         "anchor texts of a site's backlinks",
		Columns:     []serpstat.Column{str("anchor"), num("ref_domains", "refDomains"), num("total"), num("no_follow", "noFollow")},
		Extra:       true,
		SearchTypes: urlSearch,
		Sorts:       []string{"total", "refDomains", "nofollow", "anchor", "lastupdate"}, DefaultSort: "lastupdate",
		Filters: []serpstat.FilterField{
			filter("total", serpstat.KindInt, "total"),
			filter("refDomains", serpstat.KindInt, "ref_domains"),
			// The schema says nofollow, the example noFollow.
			alias(filter("nofollow", serpstat.KindInt, "no_follow"), "noFollow"),
			filter("anchor", serpstat.KindString, "anchor"),
			filter("lastupdate", serpstat.KindDate, ""),
		},
		AdditionalFilters: []string{"no_subdomains"},
		Slices:            []string{"lastupdate", "total", "refDomains"},
		// The spec types count as a string ("1" in its example): sent as
		// one, and only a positive whole number is taken.
		Params: []serpstat.Param{
			{Name: "anchor", Kind: serpstat.KindString, Doc: "Anchor text"},
			{Name: "count", Kind: serpstat.KindString, Positive: true, Doc: "Number of words in anchor"},
		},
	}
	Intersect = &serpstat.Method{
		Name: "intersect", API: procedure + "getIntersect",
		Doc: "donors shared by a site and up to two others (--intersect a.com,b.com)",
		// Links count for domain #N is keyed with the domain's name in
		// answers ("Links count for domain #1 gepur.com"); the manifest
		// says which domain each links_count_N counts for.
		Columns: []serpstat.Column{
			str("domain", "Domain"), num("sdr", "SDR"),
			linksCount(1), linksCount(2), linksCount(3),
		},
		Extra:     true,
		Intersect: 2,
		Sorts:     []string{"domain_rank", "links_count1", "links_count2", "links_count3"}, DefaultSort: "domain_rank",
		Filters: []serpstat.FilterField{
			filter("domain_rank", serpstat.KindInt, "sdr"),
			filter("links_count1", serpstat.KindInt, "links_count_1"),
			filter("links_count2", serpstat.KindInt, "links_count_2"),
			filter("links_count3", serpstat.KindInt, "links_count_3"),
		},
		Slices: []string{"domain_rank", "links_count1"},
	}
	Threats         = threats("threats", "getThreats", false, "malicious domains linking to a site")
	ThreatsLinks    = threats("threats-links", "getThreatsLinks", true, "links from malicious sites to a site")
	OutThreats      = threats("out-threats", "getOutThreats", false, "malicious domains a site links to")
	OutThreatsLinks = threats("out-threats-links", "getOutThreatsLinks", true, "links from a site to malicious sites")
)

func linksCount(n int) serpstat.Column {
	d := string(rune('0' + n))
	c := num("links_count_"+d, "Links count for domain #"+d+" {domain_name}")
	c.KeyPrefix = "Links count for domain #" + d + " "
	return c
}

// Methods are the fourteen paged methods, in the order `methods` lists them.
var Methods = []*serpstat.Method{
	NewBacklinks, LostBacklinks, Outlinks, LostOutlinks,
	RefDomains, OutDomains, RedirectedDomains, TopPages, Anchors, Intersect,
	Threats, ThreatsLinks, OutThreats, OutThreatsLinks,
}

// Lookup returns the method named name ("lost-backlinks",
// "summary-v2"), also by its API name ("getLostBacklinks" or the full
// procedure name), paged or not, or nil.
func Lookup(name string) *serpstat.Method {
	for _, m := range All {
		if m.Name == name || m.API == name || m.API == procedure+name {
			return m
		}
	}
	return nil
}

// Names are every method's names, for messages.
func Names() string {
	names := make([]string, len(All))
	for i, m := range All {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}
