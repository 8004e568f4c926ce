// Package serpstat is a client for the Serpstat API v4: a paged method
// described as a Method (its columns, params, slicing fields and cursor;
// serpstat/backlinks holds the Backlinks API's), the generic Row and Page
// its one decoder (Method.DecodeAnswer) reads, SerpstatLimitsProcedure.getStats,
// a Client that sends them, and a typed *Error whose methods classify every
// failure in one place.
package serpstat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// API limits and names.
const (
	// DefaultEndpoint is the API's URL.
	DefaultEndpoint = "https://api.serpstat.com/v4"
	// MethodNewBacklinks is the method that lists a domain's new backlinks.
	MethodNewBacklinks = "SerpstatBacklinksProcedure.getNewBacklinks"
	// MethodStats returns the account's credit balance; it costs 0 credits.
	MethodStats = "SerpstatLimitsProcedure.getStats"
	// Wall is the number of rows of one query the API serves at most,
	// whatever the page size.
	Wall = 60000
	// MaxPageSize is the largest `size` the API accepts.
	MaxPageSize = 1000
	// DefaultPageSize is the page size the exporter asks for unless told.
	DefaultPageSize = MaxPageSize
)

// Columns are the data fields of a backlink row, in the API's order. Every
// output format uses these names in this order.
var Columns = []string{
	"url_from", "url_to", "nofollow", "link_type", "links_ext",
	"link_text", "first_seen", "last_visited", "domain_rank",
}

// Backlink is one row of getNewBacklinks.
//
// Deprecated: the engine, the sinks and the spool use Row with
// backlinks.NewBacklinks; Backlink stays for serpstattest's Rows and Row
// and the tests that read outputs back, and goes with them.
//
// A field the API answered null is left at its zero value and marked in
// Null, so that every output can write it as a null (an empty CSV cell,
// JSON null, a Parquet null) rather than as "" or 0.
type Backlink struct {
	URLFrom     string `json:"url_from"`
	URLTo       string `json:"url_to"`
	Nofollow    string `json:"nofollow"`
	LinkType    string `json:"link_type"`
	LinksExt    Int    `json:"links_ext"`
	LinkText    string `json:"link_text"`
	FirstSeen   string `json:"first_seen"`   // YYYY-MM-DD
	LastVisited string `json:"last_visited"` // YYYY-MM-DD hh:mm:ss, no zone
	DomainRank  Int    `json:"domain_rank"`
	// Null marks the fields the API answered null; the zero value is none.
	Null NullMask `json:"-"`
}

// Row is b as a generic row of getNewBacklinks (Values in Columns
// order, a null where Null says), as the decoder reads it.
func (b *Backlink) Row() Row {
	vals := []Value{
		{Str: b.URLFrom}, {Str: b.URLTo}, {Str: b.Nofollow}, {Str: b.LinkType},
		{Int: int64(b.LinksExt)}, {Str: b.LinkText}, {Str: b.FirstSeen}, {Str: b.LastVisited},
		{Int: int64(b.DomainRank)},
	}
	for c := range vals {
		if b.Null.Has(c) {
			vals[c] = Value{Null: true}
		}
	}
	return Row{Values: vals}
}

// BacklinkRows are bs as generic rows (Backlink.Row).
func BacklinkRows(bs []Backlink) []Row {
	rows := make([]Row, len(bs))
	for i := range bs {
		rows[i] = bs[i].Row()
	}
	return rows
}

// NullMask marks null fields of a Backlink: bit i is Columns[i].
type NullMask uint16

// Column indexes in Columns, for NullMask.
const (
	ColURLFrom = iota
	ColURLTo
	ColNofollow
	ColLinkType
	ColLinksExt
	ColLinkText
	ColFirstSeen
	ColLastVisited
	ColDomainRank
)

// Has reports whether column col (an index in Columns) is null.
func (m NullMask) Has(col int) bool { return m&(1<<col) != 0 }

// Int is an integer that decodes from a JSON number, a numeric string
// ("25"), an empty string or null (both 0). The API's schema types
// domain_rank as a string while its examples send a number.
type Int int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*n = 0
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
		if len(b) == 0 {
			*n = 0
			return nil
		}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil {
			return fmt.Errorf("not an integer: %q", b)
		}
		v = int64(f)
	}
	*n = Int(v)
	return nil
}

// TotalUnknown is SummaryInfo.Total when the answer did not tell it: the
// key was missing or null (sibling methods answer "total": null).
const TotalUnknown = -1

// SummaryInfo is the result's summary_info. Total is TotalUnknown when the
// answer had no total, or a null one.
type SummaryInfo struct {
	// LeftLines is the account's remaining credit balance (not rows left).
	LeftLines Int    `json:"left_lines"`
	Page      Int    `json:"page"`
	Count     Int    `json:"count"`
	Total     Int    `json:"total"`
	Sort      string `json:"sort"`
	Order     string `json:"order"`
}

// Stats is the answer of getStats.
type Stats struct {
	MaxLines  Int `json:"max_lines"`
	UsedLines Int `json:"used_lines"`
	LeftLines Int `json:"left_lines"`
}

// Search types. SearchURL and SearchPartURL are documented for
// getNewBacklinks only (the method page and Serpstat's official MCP server):
// the query is then a page's URL, or a part of one.
const (
	SearchDomain               = "domain"
	SearchDomainWithSubdomains = "domain_with_subdomains"
	SearchURL                  = "url"
	SearchPartURL              = "part_url"
)

// Enumerations from the method page and api-notes.md.
var (
	SearchTypes  = []string{SearchDomain, SearchDomainWithSubdomains, SearchURL, SearchPartURL}
	SortFields   = []string{"url_from", "anchor", "link_nofollow", "links_external", "link_type", "url_to", "check", "add", "domain_rank"}
	Orders       = []string{"asc", "desc"}
	FilterFields = []string{"url_from", "anchor", "link_nofollow", "links_external", "link_type", "url_to", "check", "add"}
	CompareTypes = []string{"gt", "lt", "gte", "lte", "eq", "neq", "between", "contains", "notContains", "startsWith", "endsWith"}
	// AdditionalFilters are the values of {"additional_filters": X}.
	AdditionalFilters = []string{"no_subdomains", "only_main_page", "last_week"}
	// LinkTypeValues are the documented complexFilter values of link_type.
	// They differ from the values answers hold (href, frame, ...).
	LinkTypeValues = []string{"text", "redirect", "iframe", "form", "canonical", "rss", "alternate", "image"}
	// NofollowValues are the documented complexFilter values of
	// link_nofollow.
	NofollowValues = []string{"follow", "nofollow", "ugc", "sponsored"}
)

// Filter is a complexFilter: an OR-list of AND-lists of conditions.
type Filter [][]Condition

// Condition is one element of an AND-list: either a field comparison
// (Field, CompareType, Value) or an additional filter.
type Condition struct {
	Field             string `json:"field,omitempty"`
	CompareType       string `json:"compareType,omitempty"`
	Value             []any  `json:"value,omitempty"`
	AdditionalFilters string `json:"additional_filters,omitempty"`
}

// NewBacklinksParams are the params of getNewBacklinks.
//
// Deprecated: use Params with a Method.
type NewBacklinksParams = Params
