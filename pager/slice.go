package pager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Slicing gets past the wall: a query whose total is above it is cut into
// slices whose totals are each at or under it, by first-seen date (the
// `add` field, as an AND of gte and lte: the spec documents between for
// numbers only), a single day still over the wall by links_external ranges
// (gte and lte on numbers), then by the documented filter values of
// link_type, then of link_nofollow: one slice per value and a remainder
// that is neq every one of them; and as a last resort by last-visited date
// (the documented `check` field, gte and lte). Each slice's conditions are AND-ed into
// every AND-group of the user's complexFilter, so the slices partition the
// query's rows: no row is in two slices.
//
// That is what the filters mean on paper; slicing proves it on the API's
// own numbers. Every slice's total is read (by a probe), never inferred as
// the parent's less a sibling's, and the children of every split must add
// up to their parent's total. When they do not (a filter the API ignores,
// or applies otherwise than documented), the difference is rows in doubt:
// logged loudly, counted in SlicePlan.InDoubt, and the export does not end
// as a success. A filter the API refuses while slicing (32117) is not the
// user's error: that dimension is dropped and the next one is tried.

// Other is Slice.LinkType or Slice.Nofollow for the remainder slice: rows
// whose value is none of the documented filter values.
const Other = "*"

// Slice is one part of a sliced query.
type Slice struct {
	// From and To bound the first-seen date (the `add` field), inclusive,
	// as add gte From AND add lte To. A zero To means no date condition
	// (the API refused date filters).
	From, To time.Time
	// LinksLo..LinksHi bounds links_external, inclusive, when Links is
	// set; LinksHi < 0 means no upper bound.
	Links            bool
	LinksLo, LinksHi int
	// LinkType and Nofollow are "" (no condition), one of the documented
	// filter values (serpstat.LinkTypeValues, serpstat.NofollowValues:
	// eq that value), or Other (neq every one of them).
	LinkType, Nofollow string
	// CheckFrom and CheckTo bound the last-visited date (the `check`
	// field), inclusive, when CheckTo is not zero.
	CheckFrom, CheckTo time.Time `json:",omitzero"`
	// Total is the rows the slice matches, as its probe told.
	Total int
	Exact bool
	// Unsplittable is set on a slice over the wall that nothing splits:
	// only its first Wall rows can be exported.
	Unsplittable bool
	// First is the slice's page 1 when a probe fetched it at full size.
	First *Page `json:"-"`
}

// filterDateFrom is the earliest first-seen date slicing looks at.
var filterDateFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// enumConds are the conditions of an enum dimension: eq the value, or
// for Other one neq condition per documented value, AND-ed.
func enumConds(field, v string, values []string) []serpstat.Condition {
	switch v {
	case "":
		return nil
	case Other:
		out := make([]serpstat.Condition, len(values))
		for i, x := range values {
			out[i] = serpstat.Condition{Field: field, CompareType: "neq", Value: []any{x}}
		}
		return out
	}
	return []serpstat.Condition{{Field: field, CompareType: "eq", Value: []any{v}}}
}

// Conds are the slice's conditions, to AND into every group: only forms
// the spec documents.
func (s Slice) Conds() []serpstat.Condition {
	var conds []serpstat.Condition
	if !s.To.IsZero() {
		conds = append(conds,
			serpstat.Condition{Field: "add", CompareType: "gte", Value: []any{serpstat.FormatFilterDate(s.From)}},
			serpstat.Condition{Field: "add", CompareType: "lte", Value: []any{serpstat.FormatFilterDate(s.To)}})
	}
	if s.Links {
		conds = append(conds, serpstat.Condition{Field: "links_external", CompareType: "gte", Value: []any{s.LinksLo}})
		if s.LinksHi >= 0 {
			conds = append(conds, serpstat.Condition{Field: "links_external", CompareType: "lte", Value: []any{s.LinksHi}})
		}
	}
	conds = append(conds, enumConds("link_type", s.LinkType, serpstat.LinkTypeValues)...)
	conds = append(conds, enumConds("link_nofollow", s.Nofollow, serpstat.NofollowValues)...)
	if !s.CheckTo.IsZero() {
		conds = append(conds,
			serpstat.Condition{Field: "check", CompareType: "gte", Value: []any{serpstat.FormatFilterDate(s.CheckFrom)}},
			serpstat.Condition{Field: "check", CompareType: "lte", Value: []any{serpstat.FormatFilterDate(s.CheckTo)}})
	}
	return conds
}

// Filter ANDs the slice's conditions into every AND-group of the user's
// filter (an empty filter becomes one group).
func (s Slice) Filter(user serpstat.Filter) serpstat.Filter {
	conds := s.Conds()
	if len(conds) == 0 {
		return user
	}
	if len(user) == 0 {
		return serpstat.Filter{conds}
	}
	out := make(serpstat.Filter, len(user))
	for i, g := range user {
		out[i] = append(append(make([]serpstat.Condition, 0, len(g)+len(conds)), g...), conds...)
	}
	return out
}

// Params returns the query's params narrowed to the slice.
func (s Slice) Params(query serpstat.NewBacklinksParams) serpstat.NewBacklinksParams {
	query.ComplexFilter = s.Filter(query.ComplexFilter)
	return query
}

// Label says in a few words what the slice holds.
func (s Slice) Label() string {
	var parts []string
	switch {
	case s.To.IsZero():
	case s.From.Equal(s.To):
		parts = append(parts, "add "+s.From.Format(time.DateOnly))
	default:
		parts = append(parts, "add "+s.From.Format(time.DateOnly)+".."+s.To.Format(time.DateOnly))
	}
	if s.Links {
		if s.LinksHi < 0 {
			parts = append(parts, fmt.Sprintf("links_external ≥ %d", s.LinksLo))
		} else {
			parts = append(parts, fmt.Sprintf("links_external %d..%d", s.LinksLo, s.LinksHi))
		}
	}
	for _, e := range []struct{ field, v string }{{"link_type", s.LinkType}, {"link_nofollow", s.Nofollow}} {
		switch e.v {
		case "":
		case Other:
			parts = append(parts, e.field+" none of the documented values")
		default:
			parts = append(parts, e.field+" "+e.v)
		}
	}
	switch {
	case s.CheckTo.IsZero():
	case s.CheckFrom.Equal(s.CheckTo):
		parts = append(parts, "check "+s.CheckFrom.Format(time.DateOnly))
	default:
		parts = append(parts, "check "+s.CheckFrom.Format(time.DateOnly)+".."+s.CheckTo.Format(time.DateOnly))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, ", ")
}

// Key names the slice for a checkpoint: a hash of its conditions.
func (s Slice) Key() string {
	js, _ := json.Marshal(s.Conds())
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:6])
}

// The dimensions a slice is split along, in order.
const (
	dimDate = iota
	dimLinks
	dimLinkType
	dimNofollow
	dimCheck
)

var dimNames = [...]string{"add (first-seen date)", "links_external", "link_type", "link_nofollow", "check (last-visited date)"}

// maxLinksBound stops splitting open links_external ranges.
const maxLinksBound = 1 << 40

// children cuts a slice into parts that partition it, along the first
// dimension that splits it and was not refused; ok is false when nothing
// splits it.
func (s Slice) children(refused map[int]bool, today time.Time) (kids []Slice, dim int, ok bool) {
	base := s
	base.Total, base.Exact, base.First, base.Unsplittable = 0, false, nil, false
	switch {
	case !refused[dimDate] && !s.To.IsZero() && s.To.After(s.From):
		days := int(s.To.Sub(s.From).Hours()/24) + 1
		half := days / 2
		left, right := base, base
		left.To = s.From.AddDate(0, 0, half-1)
		right.From = left.To.AddDate(0, 0, 1)
		return []Slice{left, right}, dimDate, true
	case !refused[dimLinks] && (!s.Links || s.LinksHi < 0 && s.LinksLo < maxLinksBound || s.LinksLo < s.LinksHi):
		left, right := base, base
		left.Links, right.Links = true, true
		switch {
		case !s.Links:
			left.LinksLo, left.LinksHi = 0, 63
			right.LinksLo, right.LinksHi = 64, -1
		case s.LinksHi < 0:
			// Open-ended: double the bound.
			mid := max(s.LinksLo, s.LinksLo*2-1)
			left.LinksHi = mid
			right.LinksLo = mid + 1
		default:
			mid := s.LinksLo + (s.LinksHi-s.LinksLo)/2
			left.LinksHi = mid
			right.LinksLo = mid + 1
		}
		return []Slice{left, right}, dimLinks, true
	case !refused[dimLinkType] && s.LinkType == "":
		for _, v := range append(slices.Clone(serpstat.LinkTypeValues), Other) {
			k := base
			k.LinkType = v
			kids = append(kids, k)
		}
		return kids, dimLinkType, true
	case !refused[dimNofollow] && s.Nofollow == "":
		for _, v := range append(slices.Clone(serpstat.NofollowValues), Other) {
			k := base
			k.Nofollow = v
			kids = append(kids, k)
		}
		return kids, dimNofollow, true
	case !refused[dimCheck] && (s.CheckTo.IsZero() || s.CheckTo.After(s.CheckFrom)):
		from, to := s.CheckFrom, s.CheckTo
		if to.IsZero() {
			from, to = filterDateFrom, today
		}
		days := int(to.Sub(from).Hours()/24) + 1
		left, right := base, base
		left.CheckFrom, left.CheckTo = from, from.AddDate(0, 0, days/2-1)
		right.CheckFrom, right.CheckTo = left.CheckTo.AddDate(0, 0, 1), to
		return []Slice{left, right}, dimCheck, true
	}
	return nil, 0, false
}

// ProbeCache keeps what probes learned, so that planning the slices again
// (after a crash) costs nothing. PlanSlices calls it from one goroutine.
type ProbeCache interface {
	// Total returns a slice's total learned before, if any.
	Total(key string) (int, bool)
	// SetTotal records a slice's total, and its page 1 when the probe
	// fetched it at full size (first may be nil).
	SetTotal(key string, total int, first *Page) error
}

// SlicePlan is the slices of a query, in export order (by date, then
// links_external, link_type, link_nofollow), and what planning cost.
type SlicePlan struct {
	sizeOne      bool
	today        time.Time    // the last day slicing looks at
	refused      map[int]bool // dimensions the API refused to filter on
	Slices       []Slice
	Probes       int   // requests sent to plan them
	ProbeCredits int64 // credits those requests cost
	Unreachable  int   // rows of unsplittable slices past the wall
	// InDoubt is the rows by which the slices of some split did not add
	// up to their parent's total: rows the export may miss or repeat.
	InDoubt int `json:",omitempty"`
	// Refused names the dimensions the API refused to filter on (32117),
	// which slicing did without.
	Refused []string `json:",omitempty"`
}

// Reachable is the rows the slices can export: each slice's total, or the
// wall for an unsplittable one.
func (sp SlicePlan) Reachable(wall int) int {
	n := 0
	for _, s := range sp.Slices {
		n += min(s.Total, wall)
	}
	return n
}

// Sum is the slices' totals added up: the unsliced total, unless the data
// changed meanwhile or the slices do not partition it (InDoubt).
func (sp SlicePlan) Sum() int {
	n := 0
	for _, s := range sp.Slices {
		n += s.Total
	}
	return n
}

// PlanSlices cuts the query (the Pager's Params) of total rows into slices
// of at most Wall rows, from filterDateFrom to today. Every part of every
// split is probed: with size 1 (1 credit), except the last part of a
// split when the rest of its parent's total fits under the wall, which is
// probed with the full page size, so that the probe is its page 1 (useful
// data, kept in Slice.First). The parts' totals must add up to the
// parent's; see SlicePlan.InDoubt.
//
// With sizeOneProbes every probe asks for 1 row: planning then costs a
// credit a probe, for an estimate that exports nothing.
func (p *Pager) PlanSlices(ctx context.Context, total int, now time.Time, cache ProbeCache, sizeOneProbes bool) (*SlicePlan, error) {
	p.Init()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	root := Slice{From: filterDateFrom, To: today, Total: total, Exact: true}
	sp := &SlicePlan{sizeOne: sizeOneProbes, today: today, refused: map[int]bool{}}
	spentBefore := p.Budget.Spent()
	err := p.slice(ctx, root, sp, cache, true)
	sp.ProbeCredits = p.Budget.Spent() - spentBefore
	return sp, err
}

func (p *Pager) slice(ctx context.Context, s Slice, sp *SlicePlan, cache ProbeCache, root bool) error {
	if s.Total <= 0 {
		return nil
	}
	if s.Total <= p.Wall {
		sp.Slices = append(sp.Slices, s)
		return nil
	}
	for {
		kids, dim, ok := s.children(sp.refused, sp.today)
		if !ok {
			s.Unsplittable = true
			sp.Unreachable += s.Total - p.Wall
			sp.Slices = append(sp.Slices, s)
			return nil
		}
		err := p.probeAll(ctx, s, kids, sp, cache)
		if serpstat.Classify(err) == serpstat.ClassInvalid {
			// The API refused the filter: not the user's error. Slice
			// along the next dimension instead.
			sp.refused[dim] = true
			sp.Refused = append(sp.Refused, dimNames[dim])
			p.Logger.Warn("the API refused a slicing filter: slicing without it", "dimension", dimNames[dim], "slice", s.Label(), "error", err)
			if dim == dimDate && root {
				s.From, s.To = time.Time{}, time.Time{}
			}
			continue
		}
		if err != nil {
			return err
		}
		sum := 0
		for _, k := range kids {
			sum += k.Total
		}
		if sum != s.Total {
			diff := sum - s.Total
			if diff < 0 {
				diff = -diff
			}
			sp.InDoubt += diff
			p.Logger.Error("SLICES DO NOT PARTITION THE QUERY: their totals do not add up to their parent's, so the API applies a slicing filter otherwise than documented (or the data changed); rows may be missing or repeated",
				"slice", s.Label(), "dimension", dimNames[dim], "parent_total", s.Total, "sum_of_parts", sum, "rows_in_doubt", diff)
		}
		for _, k := range kids {
			if err := p.slice(ctx, k, sp, cache, false); err != nil {
				return err
			}
		}
		return nil
	}
}

// probeAll learns the total of every part of a split of parent.
func (p *Pager) probeAll(ctx context.Context, parent Slice, kids []Slice, sp *SlicePlan, cache ProbeCache) error {
	sum := 0
	for i := range kids {
		rest := parent.Total - sum
		full := i == len(kids)-1 && rest <= p.Wall && !sp.sizeOne
		if err := p.probe(ctx, &kids[i], full, sp, cache); err != nil {
			return err
		}
		sum += kids[i].Total
	}
	return nil
}

// probe learns s's total: from the cache, or with a request of size 1, or
// of the full size when full (its page 1).
func (p *Pager) probe(ctx context.Context, s *Slice, full bool, sp *SlicePlan, cache ProbeCache) error {
	key := s.Key()
	if cache != nil {
		if t, ok := cache.Total(key); ok {
			s.Total, s.Exact = t, true
			return nil
		}
	}
	size := 1
	if full {
		size = p.Params.Size
	}
	pg, err := p.ProbeFor(ctx, s.Params(p.Params), size)
	if err != nil {
		return fmt.Errorf("slice %s: %w", s.Label(), err)
	}
	sp.Probes++
	total := int(pg.Summary.Total)
	if total < 0 {
		if len(pg.Rows) >= size {
			return fmt.Errorf("slice %s: the API did not tell the slice's total, which slicing needs", s.Label())
		}
		total = len(pg.Rows)
	}
	s.Total, s.Exact = max(total, len(pg.Rows)), true
	if full {
		s.First = pg
	}
	if cache != nil {
		if err := cache.SetTotal(key, s.Total, s.First); err != nil {
			return err
		}
	}
	p.Logger.Debug("probed a slice", "slice", s.Label(), "total", s.Total, "size", size)
	return nil
}
