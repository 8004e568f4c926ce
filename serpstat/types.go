// Package serpstat is a client for the Serpstat API v4: a method, paged
// or not, described as a Method (its columns, params, slicing fields,
// cursor and price;
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

// The values of searchType, by name, for ValidateQueryFor (which checks
// the query by its search type) and the descriptors. Which of them a
// method takes is its Method.SearchTypes. SearchURL and SearchPartURL are
// documented for the methods whose searchType is the spec's searchTypeUrl
// (getNewBacklinks, getLostBacklinks, getOutlinks, getLostOutlinks,
// getOutDomains, getAnchors): the query is then a page's URL, or a part
// of one.
const (
	SearchDomain               = "domain"
	SearchDomainWithSubdomains = "domain_with_subdomains"
	SearchURL                  = "url"
	SearchPartURL              = "part_url"
)

// The API's generic vocabulary, the same for every paged method
// (api-notes.md), which Method.Validate checks every method's params
// against. A method's own vocabulary (its search types, sort fields,
// filter fields and their values, additional filters) is in its Method
// descriptor, e.g. backlinks.NewBacklinks. Read-only.
var (
	// Orders are the values of the order param.
	Orders = []string{"asc", "desc"}
	// CompareTypes are the compareType values of a complexFilter
	// condition; which of them a field takes depends on its Kind.
	CompareTypes = []string{"gt", "lt", "gte", "lte", "eq", "neq", "between", "contains", "notContains", "startsWith", "endsWith"}
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
