package serpstat

import (
	"strconv"
)

// This file is what a Method says about a method that is not paged
// (getSummaryV2, getDistributionTLD, ...) and what every method says
// about its price: one request a query, its answer's data one object
// (one row) or a list (its rows), billed as the method's spec says.

// NotPaged describes a method that answers a query in one request,
// without pages: no page, size, sort, order, linkPerDomain or
// complexFilter is sent, and its answer's data is one object (a row) or
// a list (its rows); both shapes are read whatever Object says.
type NotPaged struct {
	// Object is set when the spec's data is one object, one row
	// (getSummary, getSummaryV2); otherwise it is a list of rows.
	Object bool `json:"object,omitempty"`
	// MaxRows, for a method billed a credit a row (Billing.PerRequest
	// 0), is the rows an answer holds at most for params p: what a
	// request is reserved and estimated at (getIntersectSummary: a row
	// for every combination of the query and its intersect domains, 3 or
	// 7). nil for a method billed per request.
	MaxRows func(p Params) int `json:"-"`
}

// Billing is how a method's requests are billed, as the "Credits" note
// of its spec says. The zero value is the paged methods' rule: a credit
// a row answered, and 1 for an answer without rows.
type Billing struct {
	// PerRequest, when more than 0, is what a request answered with data
	// costs whatever its rows (getSummaryV2 and getSummary 5,
	// getDistributionTLD 1). An answer without data costs 1 credit, as
	// every method's note says since 2025-06-15.
	PerRequest int64 `json:"per_request,omitempty"`
}

// Paged tells whether m is a paged method (NotPaged nil).
func (m *Method) Paged() bool { return m.NotPaged == nil }

// Billed is what an answer of m holding rows rows was billed: 1 for no
// rows, else the method's price per request, or a credit a row.
func (m *Method) Billed(rows int) int64 {
	switch {
	case rows <= 0:
		return 1
	case m.Billing.PerRequest > 0:
		return m.Billing.PerRequest
	}
	return int64(rows)
}

// Price is the most one request of m with params p may cost, what is
// reserved before it is sent: a page of p.Size rows for a paged method
// (at least 1); for one not paged, its price per request, or a credit
// for each of the rows its answer holds at most (NotPaged.MaxRows). It
// is what an answer as documented costs, so an estimate of a method not
// paged is exact without asking the API.
func (m *Method) Price(p Params) int64 {
	switch {
	case m.Billing.PerRequest > 0:
		return m.Billing.PerRequest
	case m.NotPaged != nil && m.NotPaged.MaxRows != nil:
		return int64(max(1, m.NotPaged.MaxRows(p)))
	}
	return int64(max(1, p.Size))
}

// Rows is how many rows an answer of m to p is known to hold before it
// is asked, and whether that is known: 1 for a method answering one
// object, NotPaged.MaxRows for one billed a row; unknown (0, false) for
// a list of a length only the answer tells, and for a paged method.
func (m *Method) Rows(p Params) (int, bool) {
	switch {
	case m.NotPaged == nil:
		return 0, false
	case m.NotPaged.Object:
		return 1, true
	case m.NotPaged.MaxRows != nil:
		return m.NotPaged.MaxRows(p), true
	}
	return 0, false
}

// PriceText says in words how m is billed: "1 credit a row (1 for an
// empty answer)", "5 credits a request (1 for an empty answer)".
func (m *Method) PriceText() string {
	if m.Billing.PerRequest > 0 {
		return plural(m.Billing.PerRequest, "credit") + " a request (1 for an answer without data)"
	}
	return "1 credit a row (1 for an answer without rows)"
}

func plural(n int64, word string) string {
	s := strconv.FormatInt(n, 10) + " " + word
	if n != 1 {
		s += "s"
	}
	return s
}

// validateNotPaged refuses the params a method that is not paged does
// not take, naming each as its flag.
func (m *Method) validateNotPaged(p Params) error {
	refuse := func(field, value string) error {
		return &ParamError{Field: field, Value: value, Msg: "is not taken by " + m.Name + ", which is not paged (one answer per query): leave it unset"}
	}
	switch {
	case p.Sort != "":
		return refuse("sort", strconv.Quote(p.Sort))
	case p.Order != "":
		return refuse("order", strconv.Quote(p.Order))
	case p.Page != 0:
		return refuse("page", strconv.Itoa(p.Page))
	case p.Size != 0:
		return refuse("size", strconv.Itoa(p.Size))
	case p.LinkPerDomain != nil:
		return refuse("link-per-domain", strconv.Itoa(*p.LinkPerDomain))
	case len(p.ComplexFilter) > 0:
		return refuse("filter", strconv.Itoa(len(p.ComplexFilter))+" groups")
	}
	return nil
}
