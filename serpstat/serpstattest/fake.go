// Package serpstattest provides a real HTTP fake of the Serpstat API v4,
// like net/http/httptest: NewServer starts one on 127.0.0.1, and a Fake is
// the http.Handler behind it, for a server of your own.
//
// The fake answers every paged method of backlinks.Methods by its API
// name (SerpstatBacklinksProcedure.getNewBacklinks, getLostBacklinks, ...
// getOutThreatsLinks), the seven that are not paged (getSummaryV2 ...
// getBacklinksChangesHistory: one answer per query in the spec's
// example shapes, billed at their price; see notpaged.go) and
// SerpstatLimitsProcedure.getStats as the real API is documented to (see api-notes.md and backlinks-methods.md): every
// answer is HTTP 200 with either "result" or "error", the id comes back as
// a string, the token is read from the "token" header or the ?token=
// query, the plan's rate limit is enforced, every page is billed (1 credit
// per row, 1 for an empty page), rows past the 60,000-row wall are never
// served, and complexFilter is applied for real. Faults (a gateway's 502,
// a reset connection, a truncated body, an API error, a slow answer) can
// be injected per request or at random with a seed. Any other method is
// answered -32601 "Method not found".
//
// Params are checked against the method's descriptor: a param the method
// does not document (searchType for getRedirectedDomains and
// getIntersect, linkPerDomain for getRefDomains, intersect for all but
// getIntersect, or any unknown key), a param of the wrong type, an
// undocumented searchType, sort or order, and getIntersect's intersect
// without 1 or 2 domains are refused with 400 "Json schema validation
// error"; complexFilter fields, compare types and values are checked by
// each filter field's kind (dates in the field's documented format,
// numbers, text, documented enumerations and codes) and refused with
// 32117 as below. A method's own params (Method.Params: getAnchors'
// anchor and count) are taken as the descriptor types them (JSON
// strings; count only a whole number of 1 or more), else refused with
// 400 as above, and recorded in Entry.Params.Extra; getAnchors answers
// only the rows whose anchor holds anchor (in any case) and has count
// words (strings.Fields), as does Expected.
//
// Answers carry the spec's wire keys and types, with its documented
// variants: getLostOutlinks answers link_nofollow and links_external (the
// example) on odd rows and nofollow and links_ext (the schema) on even
// ones, getOutDomains domain_to and domains_to likewise; getRefDomains
// answers domainRank, and ref_pages and domainRank as strings on odd rows
// (getOutDomains domain_links and domain_rank too), as its schema types
// them; getTopPages urlTo; getAnchors refDomains and noFollow;
// getRedirectedDomains "Domain" and "Domain Rank"; getIntersect "Domain",
// "SDR" and "Links count for domain #N <domain>" (#1 the query, #2 and #3
// the intersect domains, absent when there is no such domain); the threat
// methods platform_type and threat_type as lists of names, varied (one
// name, or two or three, often the spec's example ["windows","linux",
// "osx"] and ["threat_type_unspecified"]); getOutThreatsLinks links from
// the queried site to others (the other methods' links point at it);
// getOutlinks date_del null on a quarter of its rows. Filter fields no
// column holds are hidden attributes of each row: link_type's filter
// values (text matches href, iframe frame) and getTopPages' and
// getAnchors' lastupdate. The rows of a method that lists domains, pages or anchors are
// unique in its data set (each row's domain, top page or anchor holds its
// index), so an exporter's duplicate check keeps them all. Expected
// returns the rows an export must produce, decoded.
//
// Each (method, query) has its own data set, computed row by row from
// (query, i) by Row (for getNewBacklinks, a Backlink, whose Row method
// is the serpstat.Row the decoder reads; other methods reseed it with
// their name), so data sets of any size cost no memory. Rows hold awkward
// text on purpose: quotes, commas, line breaks, tabs, backslashes,
// non-ASCII text, leading spreadsheet-formula characters and empty
// strings.
//
// complexFilter is an OR-list of AND-lists, checked as strictly as the
// spec documents it (backlinks-methods.md). For getNewBacklinks: "add"
// compares first_seen and "check" the date of last_visited (values
// DD.MM.YYYY, two digits each for day and month, as the schema says: any
// other spelling, 1.4.2025 or 2025-04-01, is refused with 32117 "Invalid
// crawl date"; between on dates is refused with 32117 "Not allowed values
// for between method": use gte and lte); "links_external" compares
// links_ext as a number (between takes two numbers, inclusive);
// "url_from", "url_to", "anchor" (link_text), "link_type" and
// "link_nofollow" (nofollow) compare text, case-sensitively (contains,
// notContains, startsWith and endsWith take strings only: a number is
// refused with 32117). With several values, eq, contains, startsWith and
// endsWith match any of them, neq and notContains none; the other
// comparisons use the first value, between the first two. link_type eq
// and neq take only the documented filter values (text, redirect,
// iframe, form, canonical, rss, alternate, image; text matches href and
// iframe frame), link_nofollow eq and neq only follow, nofollow, ugc,
// sponsored (or the method page's codes 0, 1, 2, 4): any other value,
// such as href, is refused with 32117. searchType may be domain,
// domain_with_subdomains, url or part_url. The other methods' filter
// fields follow the same rules by their FilterField kind: dates as "add",
// numbers as "links_external", text as "url_from", documented
// enumerations as "link_type"; a date field takes only its DateFormat
// (YYYY-MM-DD for the threat methods' lastupdate, DD.MM.YYYY for every
// other). A field is known by its schema name and its aliases (getAnchors'
// noFollow, getOutDomains' domain_to). The threat methods' platform_type
// and threat_type take the documented codes (as strings or numbers) with
// contains (the row's list holds the name of any code given), notContains
// (none), eq (the list, as a set, is exactly the codes' names) and neq;
// threat_type 9, sent by the spec's own examples and not documented, is
// taken to mean threat_type_unspecified, the name its example answers
// hold: an assumption of this fake.
//
// Options answer the variants the spec documents: numbers as strings, a
// null total, 404 "Empty result!" for no data, null fields. The rows a
// filter matches, in data-set order, are the result: total counts them
// and pages walk them. Matches are cached per (method, query, row count,
// filter), so a data set is scanned once per filter, not once per page.
//
// Two options reproduce APIs that surprise a client, without a word in
// the answer. IgnoreFilters names complexFilter fields (or "all") whose
// conditions are checked as above, a bad value still refused with 32117,
// and then have no effect: rows and total are those of the filter without
// them, for getNewBacklinks and every other method alike (an API that
// does not read a date written in a format it ignores). WallEmpty answers
// a page starting at or past the wall with an empty page, billed 1 credit,
// total still the full total, instead of the 402 error (an API that stops
// serving rows earlier than its client assumes).
//
// searchType url and part_url (taken by the methods whose spec documents
// them: getNewBacklinks, getLostBacklinks, getOutlinks, getLostOutlinks,
// getOutDomains, getAnchors) name a page: with url every row's url_to is
// the query (url_from for getOutlinks and getLostOutlinks, whose links
// leave the page), with part_url a page under it (the query, https://
// added when it has no scheme, then a path); row i is otherwise that of
// the query searched as a domain. Expected follows Params.SearchType.
//
// Rows are served in data-set order without sort and order params, and
// sorted by any documented sort field with one (ascending with order asc,
// else descending, ties in data-set order; see sort.go); an order without
// a sort sorts by the method's default sort, as the API does. Under the method's
// AppendSort ascending, InsertRows' rows come at the end; otherwise on
// top. Rows(q, n) and Row are in data-set order: SortBacklinks sorts them
// as an export asking a sort sees them.
//
// Data can grow while a client runs: Grow (or POST /grow, which the
// Fake serves beside the API; see grow.go) adds rows to a query's data
// set, and every method follows at once: paged methods' totals, pages,
// filters and sorts, and the counts and lists of those that are not
// paged.
//
// What the fake does not do: it accepts additional_filters but ignores
// them, domain and domain_with_subdomains give the same data set, and
// linkPerDomain is ignored. Filters compare a row's values before
// Options.NullEvery nulls them in the answer.
package serpstattest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// Defaults of Options.
const (
	// DefaultToken is the token a Fake accepts when Options.Token is "".
	DefaultToken = "test-token"
	// DefaultRows is how many rows every query matches when Options.Rows
	// is 0 and there is no RowsFor.
	DefaultRows = 2500
	// DefaultBalance is the starting credit balance when Options.Balance is 0.
	DefaultBalance int64 = 1_000_000_000
	// DefaultTimeoutDelay is how long a random Timeout fault holds an
	// answer when FaultRates.TimeoutDelay is 0.
	DefaultTimeoutDelay = 30 * time.Second
	// DefaultPageSize is the size the API uses when the request has none.
	DefaultPageSize = 100
	// LogSize is how many entries Log keeps: the most recent ones.
	LogSize = 100_000
)

// Error codes and messages of the fake's error answers.
const (
	CodeSchema         = 400 // MsgSchema; data holds the detail
	CodeMissingToken   = 400
	CodeInvalidToken   = 403
	CodeWall           = 402 // "To get more than <Wall> results use export report methods"
	CodeRateLimited    = 32000
	CodeNoCredits      = 32012
	CodeNoData         = 32015
	CodeFilter         = 32117 // "Not allowed field: X", "Not allowed method M for field X", "Field value is required", "Invalid crawl date", "Invalid value for field X"
	CodeMethodNotFound = -32601
	CodeServer         = -32603 // default of a FaultAPIError
	CodeEmptyResult    = 404    // MsgEmptyResult, with Options.EmptyResult404

	MsgSchema         = "Json schema validation error"
	MsgMissingToken   = "Missing token!"
	MsgInvalidToken   = "Invalid token!"
	MsgRateLimited    = "You are sending more requests per second then available for your Serpstat plan"
	MsgNoCredits      = "Not enough credits for this query"
	MsgNoData         = "No data found for requested domain"
	MsgMethodNotFound = "Method not found"
	MsgServer         = "Undefined server error"
	MsgEmptyResult    = "Empty result!"
	// MsgBetween is the documented 32117 message for between on values
	// that are not two numbers (dates, in the strict fake).
	MsgBetween = "Not allowed values for between method"
)

// Outcomes recorded in Entry.Outcome and Stats.ByOutcome. An HTTP fault is
// recorded as "fault-" and its status, e.g. "fault-502".
const (
	OutcomeOK            = "ok"             // a page (maybe empty) or getStats
	OutcomeNoData        = "no-data"        // empty page answered with CodeNoData (billed 1)
	OutcomeAuth          = "auth"           // missing or wrong token
	OutcomeRateLimited   = "rate-limited"   // over Options.RPS
	OutcomeInvalid       = "invalid"        // bad JSON, params or complexFilter
	OutcomeMethod        = "method"         // unknown method
	OutcomeWall          = "wall"           // page starts past the wall
	OutcomeCredits       = "credits"        // balance too low
	OutcomeCanceled      = "canceled"       // the client went away (or Close) while the fake waited
	OutcomeHTTPMethod    = "http-method"    // not a POST
	OutcomeFaultReset    = "fault-reset"    // FaultReset
	OutcomeFaultTruncate = "fault-truncate" // FaultTruncate (billed)
	OutcomeFaultAPI      = "fault-api"      // FaultAPIError
	OutcomeFaultShape    = "fault-shape"    // FaultUnexpected (billed)
)

// Options configure a Fake. The zero value is a fake with DefaultToken,
// DefaultRows rows per query, the 60,000-row wall, no rate limit, no
// latency, DefaultBalance credits and no faults. Options must not change
// once given to New; RowsFor and Fault may be called concurrently.
type Options struct {
	// Token is the accepted token; "" means DefaultToken. It is read from
	// the HTTP header "token" or else the query string ?token=.
	Token string
	// Rows is how many rows every query matches (summary_info.total
	// without a filter); 0 means DefaultRows, a negative count none.
	Rows int
	// RowsFor, if set, gives each query's row count and overrides Rows. A
	// count may grow over time (rows are added at the end of the data set,
	// as GrowingPrefix queries are grown); filtered answers follow it.
	RowsFor func(query string) int
	// Wall is the number of rows of a query served at most; 0 means
	// serpstat.Wall. A page starting at or past it is an error (an empty
	// page with WallEmpty).
	Wall int
	// RPS is the plan's requests per second; 0 means unlimited. Otherwise
	// a limiter of RateShape is checked when a request arrives (after
	// auth, before Latency), and a request it refuses is answered with
	// CodeRateLimited and not billed.
	RPS float64
	// Burst is the token bucket's burst: how many requests may arrive at
	// once after a quiet spell; 0 means max(1, ceil(RPS)). Burst 1 is a
	// limiter with no burst: a request arriving less than 1/RPS after the
	// last one accepted is refused.
	Burst int
	// RateShape is the limiter's shape: ShapeBucket (the default, "") or
	// ShapeWindow.
	RateShape string
	// Latency is added to every answer that passed the rate check. The
	// wait ends early if the client goes away.
	Latency time.Duration
	// Balance is the starting credit balance; 0 means DefaultBalance.
	Balance int64
	// NoDataAsError answers an empty page with error CodeNoData ("No data
	// found for requested domain") instead of "data":[]; it is still
	// billed 1 credit.
	NoDataAsError bool
	// DomainRankAsString writes domain_rank as a JSON string ("25") on
	// rows whose data-set index is odd, as the API's schema types it; the
	// other rows keep a number. Off by default: every domain_rank is a
	// number, as in the API's examples.
	DomainRankAsString bool
	// NumbersAsStrings writes every number of an answer as a string:
	// links_ext and domain_rank of every row ("92"), and the summary_info
	// counts, as sibling methods' schemas type them.
	NumbersAsStrings bool
	// TotalNull answers "total": null in summary_info, as sibling methods
	// do: a client must page on until a short page.
	TotalNull bool
	// EmptyResult404 answers an empty page with the documented error
	// {"code":404,"message":"Empty result!"}; it is still billed 1 credit.
	// It takes precedence over NoDataAsError.
	EmptyResult404 bool
	// NullEvery, when N > 0, answers null for link_text and domain_rank of
	// every getNewBacklinks row whose data-set index is N-1 modulo N; for
	// the other methods, null for every integer and list column, and
	// link_text and anchor, of those rows.
	NullEvery int
	// UnknownKeyEvery, when N > 0, adds the undocumented key UnknownKey
	// ("new_field", an object) to every row, of every method, whose
	// data-set index is N-1 modulo N: the extra column's test data.
	UnknownKeyEvery int
	// SameDayShare (0..1) is the share of every query's rows first seen on
	// OneDayDate, spread evenly over its data set: exactly
	// floor(n×share) of its first n rows. With 0.35 and 200,000 rows,
	// 70,000 rows share one day, which date slicing cannot split.
	SameDayShare float64
	// Fault, if set, is asked for every request of a paged method or
	// getStats that passed auth, the rate check and Latency; a Fault other
	// than FaultNone is injected. It takes precedence over Faults.
	Fault func(FaultInfo) Fault
	// Faults injects random faults into requests of paged methods.
	Faults FaultRates
	// InsertRows new rows are added to every query, of every method, once
	// InsertAfter answers of paged methods were billed (0: never), as
	// backlinks found while an export runs: at the top of the default
	// order (every row below shifts down by InsertRows), or at the end
	// with the method's AppendSort ("add" for getNewBacklinks) and order
	// "asc" (they are the newest first seen). The new rows are the
	// query's rows past its count (Row(query, RowsFor(query)+k)). Requests
	// with a complexFilter see no new rows.
	InsertRows  int
	InsertAfter int
	// IgnoreFilters names complexFilter fields ("add", "lastupdate",
	// "domain_rank", ...), or "all" for every field, whose conditions the
	// fake checks as it checks any (a bad value is still refused with
	// CodeFilter) and then ignores: an answer's rows and
	// summary_info.total are what they would be without those
	// conditions, while the others still apply. A name holds for every
	// method whose filter has that field; a name no method's filter has
	// ignores nothing, and so does nil. It reproduces an API that does
	// not read a filter value, such as a date in a format it ignores.
	// InsertRows still sees a request carrying a complexFilter as
	// filtered, whatever its conditions; Expected ignores the same
	// conditions.
	IgnoreFilters []string
	// WallEmpty answers a page starting at or past the wall as an empty
	// page instead of the CodeWall error: HTTP 200, "data":[], count 0,
	// summary_info.total the full total, billed 1 credit like any empty
	// page (and, like any, answered as an error with NoDataAsError or
	// EmptyResult404). It reproduces an API that stops serving rows at a
	// wall earlier than its client assumes, without saying so.
	WallEmpty bool
}

// FaultRates are the probabilities of random faults per request of a
// paged method. Whether request number Seq gets a fault depends only on Seed and
// Seq, so a run is repeatable when requests arrive in the same order. The
// probabilities are added up in field order; their sum should be ≤ 1.
type FaultRates struct {
	Seed int64
	// Status502 answers HTTP 502 with an HTML body (a gateway's error).
	Status502 float64
	// Reset closes the connection with a TCP reset, without an answer.
	Reset float64
	// Truncate bills and produces the answer, then cuts its body short.
	Truncate float64
	// RateLimit answers the over-rate error (CodeRateLimited), not billed.
	RateLimit float64
	// Timeout holds the answer for TimeoutDelay (DefaultTimeoutDelay when
	// 0), then answers normally unless the client has gone.
	Timeout float64
	// TimeoutDelay is how long a Timeout fault holds the answer.
	TimeoutDelay time.Duration
}

// FaultInfo describes a request to Options.Fault.
type FaultInfo struct {
	// Seq is the request's number, from 1, counting every request the
	// fake received (Stats.Requests at its arrival).
	Seq    int
	Method string
	// Params are the params of a paged method as decoded, with page and
	// size defaulted when absent; zero for getStats.
	Params serpstat.Params
}

// FaultKind is a kind of injected fault.
type FaultKind int

// The kinds of fault.
const (
	// FaultNone injects nothing.
	FaultNone FaultKind = iota
	// FaultHTTPStatus answers Fault.Status (502 when 0) with an HTML body,
	// as a gateway would. Not billed.
	FaultHTTPStatus
	// FaultReset closes the connection with a TCP reset (SO_LINGER 0)
	// without answering. Not billed.
	FaultReset
	// FaultTruncate produces and bills the answer, then declares its full
	// Content-Length, writes half of it and closes the connection.
	FaultTruncate
	// FaultAPIError answers HTTP 200 with error{Fault.Code, Fault.Message}
	// (CodeServer and MsgServer when zero). Not billed.
	FaultAPIError
	// FaultDelay waits Fault.Delay, then answers normally.
	FaultDelay
	// FaultUnexpected produces and bills the answer, with links_ext of
	// its first row the string "abc" (getNewBacklinks), or the first
	// value of its first row an object (other methods): well-formed JSON
	// of a shape no client can read.
	FaultUnexpected
)

var faultKindNames = [...]string{"none", "http-status", "reset", "truncate", "api-error", "delay", "unexpected"}

func (k FaultKind) String() string {
	if k >= 0 && int(k) < len(faultKindNames) {
		return faultKindNames[k]
	}
	return "fault(" + strconv.Itoa(int(k)) + ")"
}

// Fault is a fault to inject into one request; see FaultKind for which
// fields each kind uses.
type Fault struct {
	Kind    FaultKind
	Status  int
	Code    int
	Message string
	Delay   time.Duration
}

// Entry is one request in Log.
type Entry struct {
	Seq     int       // request number, from 1
	Time    time.Time // arrival
	ID      string    // the request's id, as echoed
	Method  string
	Params  serpstat.Params // as decoded, page and size defaulted
	Outcome string          // one of the Outcome constants, or "fault-<status>"
	Fault   Fault           // the injected fault, if any
	Rows    int             // rows in the answer
	Credits int64           // credits billed
}

// PageKey identifies a billed page in Stats.PagesBilled.
type PageKey struct {
	Query string
	Page  int
	Size  int
	// Filter is the canonical JSON of complexFilter, "" without one.
	Filter string
	// Extra is the method's own params ("count"="2";), "" without.
	Extra string
	// Method is the method's name ("lost-backlinks"), "" for
	// getNewBacklinks; Intersect its intersect domains, comma-separated.
	Method    string
	Intersect string
}

// Stats is a snapshot of a Fake's counters.
type Stats struct {
	Requests      int   // every request received
	RateLimited   int   // answers of the rate limiter (not injected faults)
	RowsServed    int   // rows in billed answers, truncated ones included
	CreditsBilled int64 // credits billed
	// PagesBilled counts how many times each page was billed.
	PagesBilled map[PageKey]int
	// InFlight is the requests the fake is handling now: received, their
	// answer not yet decided (nor billed).
	InFlight int
	// MaxInFlight is the most requests the fake was handling at once.
	MaxInFlight int
	// ByOutcome counts requests by Entry.Outcome.
	ByOutcome map[string]int
}

// Fake is the fake API: an http.Handler with an account (a credit
// balance) and counters. Create it with New; it is safe for concurrent use.
type Fake struct {
	opts    Options
	token   string
	wall    int
	limiter rateGate
	matches matchCache
	ignored map[string]bool // Options.IgnoreFilters

	done      chan struct{}
	closeOnce sync.Once

	mu          sync.Mutex
	balance     int64
	maxLines    int64
	billed      int64
	requests    int
	rateLimited int
	rowsServed  int
	inFlight    int
	maxInFlight int
	pages       map[PageKey]int
	okPages     int            // paged answers billed, for InsertAfter
	grown       map[string]int // Grow's rows, by query
	grownAll    int            // Grow's rows added to every query
	outcomes    map[string]int
	log         []Entry
	logNext     int // where the next entry goes once log is full
}

var _ http.Handler = (*Fake)(nil)

// New returns a Fake with opts, defaults filled in.
func New(opts Options) *Fake {
	f := &Fake{
		opts:     opts,
		token:    opts.Token,
		wall:     opts.Wall,
		balance:  opts.Balance,
		done:     make(chan struct{}),
		pages:    make(map[PageKey]int),
		outcomes: make(map[string]int),
	}
	if f.token == "" {
		f.token = DefaultToken
	}
	if f.wall <= 0 {
		f.wall = serpstat.Wall
	}
	if f.opts.Rows == 0 {
		f.opts.Rows = DefaultRows
	}
	if f.balance == 0 {
		f.balance = DefaultBalance
	}
	f.maxLines = f.balance
	if opts.RPS > 0 {
		f.limiter = newRateGate(opts.RPS, opts.Burst, opts.RateShape)
	}
	if f.opts.Faults.TimeoutDelay <= 0 {
		f.opts.Faults.TimeoutDelay = DefaultTimeoutDelay
	}
	for _, name := range opts.IgnoreFilters {
		if f.ignored == nil {
			f.ignored = make(map[string]bool)
		}
		f.ignored[name] = true
	}
	return f
}

// ignores reports whether Options.IgnoreFilters names the filter field.
func (f *Fake) ignores(field string) bool { return f.ignored["all"] || f.ignored[field] }

// Close ends the fake's waits (Latency, delay faults): requests waiting
// now, and any that would wait later, are aborted without an answer (the
// connection is closed). Requests that do not wait are still answered. It
// lets an http.Server holding the fake shut down at once.
func (f *Fake) Close() { f.closeOnce.Do(func() { close(f.done) }) }

// Balance returns the account's credit balance.
func (f *Fake) Balance() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.balance
}

// SetBalance sets the account's credit balance. getStats' max_lines
// becomes n plus the credits billed so far.
func (f *Fake) SetBalance(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.balance = n
	f.maxLines = n + f.billed
}

// Stats returns a snapshot of the counters.
func (f *Fake) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Stats{
		Requests:      f.requests,
		RateLimited:   f.rateLimited,
		RowsServed:    f.rowsServed,
		CreditsBilled: f.billed,
		PagesBilled:   make(map[PageKey]int, len(f.pages)),
		InFlight:      f.inFlight,
		MaxInFlight:   f.maxInFlight,
		ByOutcome:     make(map[string]int, len(f.outcomes)),
	}
	for k, v := range f.pages {
		s.PagesBilled[k] = v
	}
	for k, v := range f.outcomes {
		s.ByOutcome[k] = v
	}
	return s
}

// Log returns the last LogSize requests handled, in order of arrival
// (Seq). A request is logged when its answer is decided, just before it is
// written; requests still being handled are not in it yet.
func (f *Fake) Log() []Entry {
	f.mu.Lock()
	out := make([]Entry, 0, len(f.log))
	out = append(out, f.log[f.logNext:]...)
	out = append(out, f.log[:f.logNext]...)
	f.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Entry) int { return a.Seq - b.Seq })
	return out
}

// RowsFor returns the number of rows query matches without a filter:
// Options.RowsFor's or Options.Rows, plus what Grow added.
func (f *Fake) RowsFor(query string) int {
	n := f.opts.Rows
	if f.opts.RowsFor != nil {
		n = f.opts.RowsFor(query)
	}
	return max(n, 0) + f.grownBy(query)
}

// Wall returns the number of rows of a query the fake serves at most.
func (f *Fake) Wall() int { return f.wall }

func (f *Fake) finish(e *Entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inFlight--
	f.outcomes[e.Outcome]++
	if len(f.log) < LogSize {
		f.log = append(f.log, *e)
		return
	}
	f.log[f.logNext] = *e
	f.logNext = (f.logNext + 1) % LogSize
}

// errClosed is the end of a wait cut short by Close.
var errClosed = errors.New("serpstattest: fake closed")

// wait sleeps d, or less if ctx ends or the fake is closed.
func (f *Fake) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-f.done:
		return errClosed
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-f.done:
		return errClosed
	}
}

// envelope is the body of a request.
type envelope struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// reply writes an answer; nil writes nothing.
type reply func(w http.ResponseWriter)

func jsonReply(body []byte) reply { return func(w http.ResponseWriter) { writeJSON(w, body) } }

// ServeHTTP answers one request: POST to any path, body
// {"id","method","params"}. The request is counted and logged before its
// answer is written, so a client that has its answer (or error) sees it in
// Stats and Log.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == GrowPath {
		f.serveGrow(w, r) // not an API request: neither logged nor counted
		return
	}
	e := Entry{Time: time.Now()}
	f.mu.Lock()
	f.requests++
	e.Seq = f.requests
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()

	send, err := f.handle(r, &e)
	f.finish(&e)
	switch {
	case errors.Is(err, errClosed):
		panic(http.ErrAbortHandler) // close the connection at once
	case err != nil:
		return // the client is gone: nobody reads an answer
	case send != nil:
		send(w)
	}
}

// handle decides the answer to r, filling e. It returns an error only
// when a wait was cut short.
func (f *Fake) handle(r *http.Request, e *Entry) (reply, error) {
	if r.Method != http.MethodPost {
		e.Outcome = OutcomeHTTPMethod
		return func(w http.ResponseWriter) {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		}, nil
	}
	body, readErr := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var env envelope
	envErr := readErr
	if envErr == nil {
		envErr = json.Unmarshal(body, &env)
	}
	e.ID = idString(env.ID)
	e.Method = env.Method

	token := r.Header.Get("token")
	if token == "" {
		token = r.URL.Query().Get("token")
	}
	switch {
	case token == "":
		e.Outcome = OutcomeAuth
		return jsonReply(errorBody(e.ID, CodeMissingToken, MsgMissingToken, nil)), nil
	case token != f.token:
		e.Outcome = OutcomeAuth
		return jsonReply(errorBody(e.ID, CodeInvalidToken, MsgInvalidToken, nil)), nil
	}
	if f.limiter != nil && !f.limiter.Allow() {
		e.Outcome = OutcomeRateLimited
		f.mu.Lock()
		f.rateLimited++
		f.mu.Unlock()
		return jsonReply(errorBody(e.ID, CodeRateLimited, MsgRateLimited, nil)), nil
	}
	if err := f.wait(r.Context(), f.opts.Latency); err != nil {
		e.Outcome = OutcomeCanceled
		return nil, err
	}
	if envErr != nil {
		e.Outcome = OutcomeInvalid
		return jsonReply(errorBody(e.ID, CodeSchema, MsgSchema, jsonString("body: "+envErr.Error()))), nil
	}

	var p params
	var perr *serpstat.Error
	m := methodByAPI(env.Method)
	switch {
	case env.Method == serpstat.MethodStats:
	case m == nil:
		e.Outcome = OutcomeMethod
		return jsonReply(errorBody(e.ID, CodeMethodNotFound, MsgMethodNotFound, jsonString(env.Method))), nil
	case !m.Paged():
		p, perr = decodeNotPagedParams(m, env.Params)
		e.Params = p.Params
	case m == backlinks.NewBacklinks:
		p, perr = decodeParams(env.Params, f.ignores)
		p.m = m
		e.Params = p.Params
	default:
		p, perr = decodeMethodParams(m, env.Params, f.ignores)
		e.Params = p.Params
	}

	fault := f.faultFor(e.Seq, env.Method, e.Params)
	e.Fault = fault
	switch fault.Kind {
	case FaultHTTPStatus:
		status := fault.Status
		if status == 0 {
			status = http.StatusBadGateway
		}
		e.Outcome = "fault-" + strconv.Itoa(status)
		return func(w http.ResponseWriter) { writeHTML(w, status) }, nil
	case FaultReset:
		e.Outcome = OutcomeFaultReset
		return reset, nil
	case FaultAPIError:
		code, msg := fault.Code, fault.Message
		if code == 0 {
			code = CodeServer
		}
		if msg == "" {
			msg = MsgServer
		}
		e.Outcome = OutcomeFaultAPI
		return jsonReply(errorBody(e.ID, code, msg, nil)), nil
	case FaultDelay:
		if err := f.wait(r.Context(), fault.Delay); err != nil {
			e.Outcome = OutcomeCanceled
			return nil, err
		}
	}

	var answer []byte
	switch {
	case env.Method == serpstat.MethodStats:
		answer = f.getStats(e)
	case !m.Paged():
		p.unexpected = fault.Kind == FaultUnexpected
		answer = f.getAnswer(e, &p, perr)
	default:
		p.unexpected = fault.Kind == FaultUnexpected
		answer = f.getPage(e, &p, perr)
	}
	if fault.Kind == FaultTruncate {
		e.Outcome = OutcomeFaultTruncate
		return func(w http.ResponseWriter) { writeTruncated(w, answer) }, nil
	}
	if fault.Kind == FaultUnexpected {
		e.Outcome = OutcomeFaultShape
		if i := bytes.Index(answer, []byte(`"links_ext":`)); i >= 0 && p.m == backlinks.NewBacklinks {
			i += len(`"links_ext":`)
			j := i + bytes.IndexByte(answer[i:], ',')
			answer = slices.Concat(answer[:i], []byte(`"abc"`), answer[j:])
		}
	}
	return jsonReply(answer), nil
}

// faultFor decides the fault of request seq.
func (f *Fake) faultFor(seq int, method string, p serpstat.Params) Fault {
	if f.opts.Fault != nil {
		if fl := f.opts.Fault(FaultInfo{Seq: seq, Method: method, Params: p}); fl.Kind != FaultNone {
			return fl
		}
	}
	fr := &f.opts.Faults
	if method == serpstat.MethodStats {
		return Fault{}
	}
	u := float64(mix64(uint64(fr.Seed)^mix64(uint64(seq)))>>11) / (1 << 53)
	acc := 0.0
	for _, c := range []struct {
		p     float64
		fault Fault
	}{
		{fr.Status502, Fault{Kind: FaultHTTPStatus, Status: http.StatusBadGateway}},
		{fr.Reset, Fault{Kind: FaultReset}},
		{fr.Truncate, Fault{Kind: FaultTruncate}},
		{fr.RateLimit, Fault{Kind: FaultAPIError, Code: CodeRateLimited, Message: MsgRateLimited}},
		{fr.Timeout, Fault{Kind: FaultDelay, Delay: fr.TimeoutDelay}},
	} {
		acc += c.p
		if c.p > 0 && u < acc {
			return c.fault
		}
	}
	return Fault{}
}

// params are checked params of a paged method, defaults applied.
type params struct {
	serpstat.Params
	m       *serpstat.Method
	filter  compiled    // getNewBacklinks' filter
	mfilter mcompiled   // another method's filter
	canon   string      // canonical JSON of the filter, "" without one
	extra   *extraMatch // the rows the method's own params select; nil: all
	// unexpected: FaultUnexpected (the first value of another method's
	// answer is an object)
	unexpected bool
}

func schemaErr(detail string) *serpstat.Error {
	return &serpstat.Error{Code: CodeSchema, Message: MsgSchema, Data: jsonString(detail)}
}

// newBacklinksParams are the params getNewBacklinks documents.
var newBacklinksParams = []string{"query", "searchType", "sort", "order", "page", "size", "linkPerDomain", "complexFilter"}

// decodeParams decodes and checks getNewBacklinks params as the API does:
// a param it does not document is refused too. Conditions on the fields
// ignored reports are checked, then match every row.
// The returned params are filled as far as decoding went, even on error.
func decodeParams(raw json.RawMessage, ignored func(field string) bool) (params, *serpstat.Error) {
	var p params
	var w struct {
		Query         string          `json:"query"`
		SearchType    string          `json:"searchType"`
		Sort          string          `json:"sort"`
		Order         string          `json:"order"`
		Page          *int            `json:"page"`
		Size          *int            `json:"size"`
		LinkPerDomain *int            `json:"linkPerDomain"`
		ComplexFilter serpstat.Filter `json:"complexFilter"`
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return p, schemaErr("params: required")
	}
	err := json.Unmarshal(raw, &w)
	p.Query, p.SearchType, p.Sort, p.Order = w.Query, w.SearchType, w.Sort, w.Order
	p.Page, p.Size, p.LinkPerDomain, p.ComplexFilter = 1, DefaultPageSize, w.LinkPerDomain, w.ComplexFilter
	if w.Page != nil {
		p.Page = *w.Page
	}
	if w.Size != nil {
		p.Size = *w.Size
	}
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return p, schemaErr("params." + te.Field + ": must be " + jsonType(te.Type.Kind().String()))
		}
		return p, schemaErr("params: " + err.Error())
	}
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(raw, &keys)
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !slices.Contains(newBacklinksParams, k) {
			return p, schemaErr("params." + k + ": not allowed: getNewBacklinks does not take it")
		}
	}
	switch {
	case p.Query == "":
		return p, schemaErr("params.query: required")
	case p.SearchType == "":
		return p, schemaErr("params.searchType: required")
	case !slices.Contains(backlinks.NewBacklinks.SearchTypes, p.SearchType):
		return p, schemaErr("params.searchType: must be one of " + strings.Join(backlinks.NewBacklinks.SearchTypes, ", "))
	case p.Sort != "" && !slices.Contains(backlinks.NewBacklinks.Sorts, p.Sort):
		return p, schemaErr("params.sort: must be one of " + strings.Join(backlinks.NewBacklinks.Sorts, ", "))
	case p.Order != "" && !slices.Contains(serpstat.Orders, strings.ToLower(p.Order)):
		return p, schemaErr("params.order: must be asc or desc")
	case p.Page < 1:
		return p, schemaErr("params.page: must be >= 1")
	case p.Size < 1 || p.Size > serpstat.MaxPageSize:
		return p, schemaErr("params.size: must be between 1 and " + strconv.Itoa(serpstat.MaxPageSize))
	case p.LinkPerDomain != nil && *p.LinkPerDomain < 0:
		return p, schemaErr("params.linkPerDomain: must be >= 0")
	}
	if len(p.ComplexFilter) > 0 {
		c, ferr := compileFilter(p.ComplexFilter, ignored)
		if ferr != nil {
			return p, ferr
		}
		canon, _ := json.Marshal(p.ComplexFilter)
		p.filter, p.canon = c, string(canon)
	}
	return p, nil
}

func jsonType(goKind string) string {
	switch goKind {
	case "int", "int64":
		return "an integer"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return goKind
}

// bill charges an answer of rows rows at cost credits, recording it in
// e and the fake's counters (a paged method's answer counts toward
// Options.InsertAfter). It returns the balance left, or the error body
// to answer instead: no credits left, or an empty answer that the
// options turn into an error (billed all the same).
func (f *Fake) bill(e *Entry, key PageKey, rows int, cost int64, paged bool) (left int64, refusal []byte) {
	f.mu.Lock()
	if f.balance <= 0 || f.balance < cost {
		f.mu.Unlock()
		e.Outcome = OutcomeCredits
		return 0, errorBody(e.ID, CodeNoCredits, MsgNoCredits, nil)
	}
	f.balance -= cost
	f.billed += cost
	f.rowsServed += rows
	f.pages[key]++
	if paged {
		f.okPages++
	}
	left = f.balance
	f.mu.Unlock()
	e.Rows, e.Credits = rows, cost
	switch {
	case rows == 0 && f.opts.EmptyResult404:
		e.Outcome = OutcomeNoData
		return left, errorBody(e.ID, CodeEmptyResult, MsgEmptyResult, nil)
	case rows == 0 && f.opts.NoDataAsError:
		e.Outcome = OutcomeNoData
		return left, errorBody(e.ID, CodeNoData, MsgNoData, nil)
	}
	e.Outcome = OutcomeOK
	return left, nil
}

// getPage answers a request of a paged method whose params decoded to p
// (perr if they were refused), billing it.
func (f *Fake) getPage(e *Entry, p *params, perr *serpstat.Error) []byte {
	if perr != nil {
		e.Outcome = OutcomeInvalid
		return errorBody(e.ID, perr.Code, perr.Message, perr.Data)
	}
	m := p.m
	isNew := m == backlinks.NewBacklinks
	total := f.RowsFor(p.Query)
	var g gen
	var mg *mgen
	if isNew {
		g = f.gen(p.Query).forSearch(p.SearchType)
	} else {
		mg = f.mgenFor(m, p.Params)
	}
	// A request carrying a complexFilter sees no inserted rows, even when
	// its filter matches every row (additional filters, ignored fields).
	filtered := len(p.ComplexFilter) > 0 || p.extra != nil
	base, inserted, atEnd := total, 0, false
	if !filtered {
		inserted = f.insertedNow()
		total += inserted
		atEnd = m.AppendSort != "" && servedSort(m, p.Params) == m.AppendSort && strings.EqualFold(p.Order, "asc")
	}
	key := PageKey{Query: p.Query, Page: p.Page, Size: p.Size, Filter: p.canon, Extra: extraKey(p.Extra)}
	if !isNew {
		key.Method, key.Intersect = m.Name, strings.Join(p.Intersect, ",")
	}
	// The rows served, in order (see order): the filter's matches, sorted
	// as asked. Inserted rows are kept apart from the data set's order:
	// on top, or at the end under the append sort ascending.
	sel := selection{m: m, query: p.Query, intersect: p.Intersect, searchType: p.SearchType,
		n: base, canon: p.canon, extra: p.extra, extraKey: key.Extra,
		filter: p.filter, mfilter: p.mfilter, sort: servedSort(m, p.Params), desc: !strings.EqualFold(p.Order, "asc")}
	idx, count := f.order(sel)
	total = count + inserted
	pastWall := p.Page-1 >= f.wall || (p.Page-1)*p.Size >= f.wall
	if pastWall && !f.opts.WallEmpty {
		e.Outcome = OutcomeWall
		return errorBody(e.ID, CodeWall, "To get more than "+strconv.Itoa(f.wall)+" results use export report methods", nil)
	}
	var offset, n int // past the wall with WallEmpty: an empty page
	if !pastWall {
		offset = (p.Page - 1) * p.Size
		n = max(0, min(offset+p.Size, total, f.wall)-offset)
	}
	cost := int64(max(n, 1))

	left, refusal := f.bill(e, key, n, cost, true)
	if refusal != nil {
		return refusal
	}

	s := make([]byte, 0, 256+n*420)
	s = append(s, `{"id":`...)
	s = appendString(s, e.ID)
	s = append(s, `,"result":{"data":[`...)
	var mr mrow
	at := func(pos int) int { // the data-set index of the data set's row at pos
		if idx != nil {
			return int(idx[pos])
		}
		return pos
	}
	for k := range n {
		var i int
		switch pos := offset + k; {
		case inserted == 0:
			i = at(pos)
		case atEnd && pos >= base:
			i = pos // rows base.. are the new ones, at the end
		case atEnd:
			i = at(pos)
		case pos < inserted:
			i = base + inserted - 1 - pos // the newest on top
		default:
			i = at(pos - inserted)
		}
		if k > 0 {
			s = append(s, ',')
		}
		if !isNew {
			mg.fill(&mr, i, false)
			st := f.style(i)
			st.unexpected = p.unexpected && k == 0
			s = mg.appendRow(s, &mr, st)
			continue
		}
		r := g.row(i)
		st := rowStyle{
			rankAsString:  f.opts.NumbersAsStrings || f.opts.DomainRankAsString && i%2 == 1,
			linksAsString: f.opts.NumbersAsStrings,
			nulls:         f.opts.NullEvery > 0 && i%f.opts.NullEvery == f.opts.NullEvery-1,
			unknown:       f.opts.UnknownKeyEvery > 0 && i%f.opts.UnknownKeyEvery == f.opts.UnknownKeyEvery-1,
			i:             i,
		}
		s = appendRow(s, &r.Backlink, st)
	}
	sort, order := p.Sort, strings.ToUpper(p.Order)
	if sort == "" {
		sort = m.DefaultSort
	}
	if order == "" {
		order = "DESC"
	}
	str := f.opts.NumbersAsStrings
	s = append(s, `],"summary_info":{"left_lines":`...)
	s = appendInt(s, left, str)
	s = append(s, `,"page":`...)
	s = appendInt(s, int64(p.Page), str)
	s = append(s, `,"count":`...)
	s = appendInt(s, int64(n), str)
	s = append(s, `,"total":`...)
	if f.opts.TotalNull {
		s = append(s, "null"...)
	} else {
		s = appendInt(s, int64(total), str)
	}
	s = append(s, `,"sort":`...)
	s = appendString(s, sort)
	s = append(s, `,"order":`...)
	s = appendString(s, order)
	return append(s, "}}}"...)
}

// Rows returns rows 0..n-1 of query's data set as this fake serves them,
// with its options (SameDayShare changes first_seen): what it serves for
// query, without a filter, when it matches at least n rows.
func (f *Fake) Rows(query string, n int) []Backlink {
	g := f.gen(query)
	out := make([]Backlink, n)
	for i := range out {
		out[i] = g.row(i).Backlink
	}
	return out
}

// gen is the row generator of query, with the fake's options.
func (f *Fake) gen(query string) gen {
	g := newGen(query)
	if sh := f.opts.SameDayShare; sh > 0 {
		g.sameDay = uint64(math.Round(min(sh, 1) * 1e6))
	}
	return g
}

// getStats answers getStats: 0 credits.
func (f *Fake) getStats(e *Entry) []byte {
	f.mu.Lock()
	maxLines, used, left := f.maxLines, f.billed, f.balance
	f.mu.Unlock()
	e.Outcome = OutcomeOK
	s := append([]byte(`{"id":`), nil...)
	s = appendString(s, e.ID)
	s = append(s, `,"result":{"data":{"max_lines":`...)
	s = strconv.AppendInt(s, maxLines, 10)
	s = append(s, `,"used_lines":`...)
	s = strconv.AppendInt(s, used, 10)
	s = append(s, `,"left_lines":`...)
	s = strconv.AppendInt(s, left, 10)
	s = append(s, `,"user_info":{"email":"demo@example.com"}},"summary_info":{"left_lines":`...)
	s = strconv.AppendInt(s, left, 10)
	return append(s, "}}}"...)
}

// idString is the request's id as the API echoes it: always a string.
func idString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String()
	}
	return string(raw)
}

// errorBody is an error answer; data, if not nil, is its JSON "data".
func errorBody(id string, code int, msg string, data []byte) []byte {
	s := append([]byte(`{"id":`), nil...)
	s = appendString(s, id)
	s = append(s, `,"error":{"code":`...)
	s = strconv.AppendInt(s, int64(code), 10)
	s = append(s, `,"message":`...)
	s = appendString(s, msg)
	if data != nil {
		s = append(s, `,"data":`...)
		s = append(s, data...)
	}
	return append(s, "}}"...)
}

// jsonString is v as a JSON string.
func jsonString(v string) []byte { return appendString(nil, v) }

func writeJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// writeTruncated declares body's full length, writes half of it and
// returns: net/http closes a connection whose answer is shorter than its
// Content-Length.
func writeTruncated(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body[:len(body)/2])
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
}

// writeHTML answers status with a gateway's HTML page.
func writeHTML(w http.ResponseWriter, status int) {
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	body := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// reset closes the connection with a TCP RST and no answer.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// Server is a Fake listening on 127.0.0.1, like httptest.Server.
type Server struct {
	*Fake
	// URL is the endpoint to give a client, e.g. http://127.0.0.1:PORT/v4.
	URL string
	ts  *httptest.Server

	connMu sync.Mutex
	conns  int // client connections open
}

// NewServer starts a Fake with opts on 127.0.0.1 at a free port. Close it
// when done.
func NewServer(opts Options) *Server {
	s := &Server{Fake: New(opts)}
	s.ts = httptest.NewUnstartedServer(s.Fake)
	s.ts.Config.ConnState = s.connState // httptest chains its own hook to it
	s.ts.Start()
	s.URL = s.ts.URL + "/v4"
	return s
}

func (s *Server) connState(_ net.Conn, st http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	switch st {
	case http.StateNew:
		s.conns++
	case http.StateHijacked, http.StateClosed:
		s.conns--
	}
}

// WaitIdle waits until the server has no client connection open and no
// request in flight, or ctx ends. Once a client process has ended (exited,
// or killed with every connection of its cut), every request it sent has
// then been read, answered and billed: Stats and Log hold them all, and no
// more will come. It polls; ctx bounds the wait.
func (s *Server) WaitIdle(ctx context.Context) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		s.connMu.Lock()
		conns := s.conns
		s.connMu.Unlock()
		if conns == 0 && s.Stats().InFlight == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("serpstattest: waiting for the server to be idle (%d connections open): %w", conns, ctx.Err())
		case <-tick.C:
		}
	}
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// CloseClientConnections closes every connection to the server at once,
// like httptest.Server's.
func (s *Server) CloseClientConnections() { s.ts.CloseClientConnections() }

// Close aborts waiting requests, shuts the server down and waits for its
// requests to end.
func (s *Server) Close() {
	s.Fake.Close()
	s.ts.Close()
}
