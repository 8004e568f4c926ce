package serpstattest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// This file is growing data: rows that arrive while an export runs, as
// backlinks found since. Grow adds rows to a query's data set (or every
// query's), and the fake serves them at /grow (POST adds, GET shows), as
// `serpstat-export fake-api` does for a person with curl.
//
// What every method answers follows: a paged method's data set is the
// query's RowsFor rows, so its total, its pages, its filters' matches and
// every sort take the new rows at once (rows n.. of the data set, sorted
// by their values like any). A method that is not paged counts them: see
// notPagedAnswer (every count of summary-v2 and summary, other than
// ranks, top-anchors' and the distributions' counts, intersect-summary's
// and the newest date's new_links of changes-history grow by the rows
// added; the lists get rows up to their size).

// GrowPath is the path at which a Fake serves Grow: POST
// /grow?query=Q&rows=N adds N rows to query Q (without query=, to every
// query); GET /grow answers Growth as JSON.
const GrowPath = "/grow"

// Growth is what Grow added, as GET /grow answers it.
type Growth struct {
	// Rows is Options.Rows, the row count of a query before growth
	// (RowsFor, when set, decides instead).
	Rows int `json:"rows"`
	// Every is what was added to every query.
	Every int `json:"added_to_every_query"`
	// Added is what was added to one query, by query.
	Added map[string]int `json:"added"`
}

// Grow adds rows to query's data set, or to every query's when query is
// "": RowsFor counts them from now on, and every method's answers follow
// (see grow.go). rows below 0 adds nothing. Safe for concurrent use.
func (f *Fake) Grow(query string, rows int) {
	if rows <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if query == "" {
		f.grownAll += rows
		return
	}
	if f.grown == nil {
		f.grown = map[string]int{}
	}
	f.grown[query] += rows
}

// Grown returns what Grow added so far.
func (f *Fake) Grown() Growth {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := Growth{Rows: f.opts.Rows, Every: f.grownAll, Added: make(map[string]int, len(f.grown))}
	for q, n := range f.grown {
		g.Added[q] = n
	}
	return g
}

// grownBy is what Grow added to query.
func (f *Fake) grownBy(query string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.grownAll + f.grown[query]
}

// insertedNow is how many Options.InsertRows rows an unfiltered request
// sees now: InsertRows once InsertAfter paged answers were billed, else 0.
func (f *Fake) insertedNow() int {
	if f.opts.InsertRows <= 0 || f.opts.InsertAfter <= 0 {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.okPages >= f.opts.InsertAfter {
		return f.opts.InsertRows
	}
	return 0
}

// serveGrow is GrowPath: POST adds rows (query=, rows=), GET shows
// Growth.
func (f *Fake) serveGrow(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		q := strings.TrimSpace(r.URL.Query().Get("query"))
		n, err := strconv.Atoi(r.URL.Query().Get("rows"))
		if err != nil || n < 0 {
			http.Error(w, "rows= must be a whole number, 0 or more", http.StatusBadRequest)
			return
		}
		f.Grow(q, n)
	case http.MethodGet, http.MethodHead:
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.Grown())
}
