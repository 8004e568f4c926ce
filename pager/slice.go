package pager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Slicing gets past the wall: a query whose total is above it is cut into
// slices whose totals are each at or under it, along the method's slicing
// dimensions (serpstat.Method.Slices) in order: a date field as halved
// ranges, an AND of gte and lte written D.M.YYYY (the spec documents
// between for numbers only), until a single day; an integer field as
// ranges (gte and lte: 0..63 and ≥ 64, open ranges doubled, closed ones
// halved); an enumerated field one slice per documented filter value and
// a remainder that is neq every one of them. For getNewBacklinks that is
// first-seen date (add), links_external, link_type, link_nofollow, and as
// a last resort last-visited date (check). Each slice's conditions are
// AND-ed into every AND-group of the user's complexFilter, so the slices
// partition the query's rows: no row is in two slices. A method with no
// slicing dimension stops at the wall (see Exporter).
//
// That is what the filters mean on paper; slicing proves it on the API's
// own numbers. Every slice's total is read (by a probe), never inferred as
// the parent's less a sibling's, and the children of every split must add
// up to their parent's total. When they do not (a filter the API ignores,
// or applies otherwise than documented), the difference is rows in doubt:
// logged loudly, counted in SlicePlan.InDoubt, and the export does not end
// as a success. A filter the API refuses while slicing (32117) is not the
// user's error: that dimension is dropped and the next one is tried.

// Other is Bound.Value for the remainder slice of an enumeration: rows
// whose value is none of the documented filter values.
const Other = "*"

// Bound is a slice's condition on one slicing dimension (a filter field of
// the method's Slices): a date range, an integer range, or one value of an
// enumeration.
type Bound struct {
	Field string
	Kind  serpstat.Kind // KindDate, KindInt or KindString (an enumeration)
	// From and To bound a date field, inclusive, as gte From AND lte To
	// (written D.M.YYYY: the spec documents between for numbers only).
	From, To time.Time `json:",omitzero"`
	// Lo and Hi bound an integer field, inclusive, as gte Lo AND lte Hi;
	// Hi < 0 means no upper bound.
	Lo, Hi int64 `json:",omitempty"`
	// Value is one of the documented filter values (eq that value), or
	// Other (neq every one of them).
	Value string `json:",omitempty"`
}

// Slice is one part of a sliced query.
type Slice struct {
	// Bounds are its conditions, at most one per dimension, in the order
	// of the method's Slices.
	Bounds []Bound `json:",omitempty"`
	// Total is the rows the slice matches, as its probe told.
	Total int
	Exact bool
	// Unsplittable is set on a slice over the wall that nothing splits:
	// only its first Wall rows can be exported.
	Unsplittable bool
	// First is the slice's page 1 when a probe fetched it at full size.
	First *Page `json:"-"`
}

// Bound returns the slice's condition on field, or nil.
func (s Slice) Bound(field string) *Bound {
	for i := range s.Bounds {
		if s.Bounds[i].Field == field {
			return &s.Bounds[i]
		}
	}
	return nil
}

// filterDateFrom is the earliest date slicing looks at.
var filterDateFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Conds are the bound's conditions, to AND: only forms the spec
// documents.
func (b Bound) Conds(values []string) []serpstat.Condition {
	switch b.Kind {
	case serpstat.KindDate:
		return []serpstat.Condition{
			{Field: b.Field, CompareType: "gte", Value: []any{serpstat.FormatFilterDate(b.From)}},
			{Field: b.Field, CompareType: "lte", Value: []any{serpstat.FormatFilterDate(b.To)}}}
	case serpstat.KindInt:
		conds := []serpstat.Condition{{Field: b.Field, CompareType: "gte", Value: []any{b.Lo}}}
		if b.Hi >= 0 {
			conds = append(conds, serpstat.Condition{Field: b.Field, CompareType: "lte", Value: []any{b.Hi}})
		}
		return conds
	}
	if b.Value == Other {
		out := make([]serpstat.Condition, len(values))
		for i, x := range values {
			out[i] = serpstat.Condition{Field: b.Field, CompareType: "neq", Value: []any{x}}
		}
		return out
	}
	return []serpstat.Condition{{Field: b.Field, CompareType: "eq", Value: []any{b.Value}}}
}

// Label says the bound in a few words.
func (b Bound) Label() string {
	switch b.Kind {
	case serpstat.KindDate:
		if b.From.Equal(b.To) {
			return b.Field + " " + b.From.Format(time.DateOnly)
		}
		return b.Field + " " + b.From.Format(time.DateOnly) + ".." + b.To.Format(time.DateOnly)
	case serpstat.KindInt:
		if b.Hi < 0 {
			return fmt.Sprintf("%s ≥ %d", b.Field, b.Lo)
		}
		return fmt.Sprintf("%s %d..%d", b.Field, b.Lo, b.Hi)
	}
	if b.Value == Other {
		return b.Field + " none of the documented values"
	}
	return b.Field + " " + b.Value
}

// Dim is one slicing dimension of a method: a filter field it documents
// and names in its Slices.
type Dim struct {
	Field  string
	Kind   serpstat.Kind
	Values []string // an enumeration's values, one slice each
}

// Dims are the slicing dimensions of m, in order: its Slices that are a
// documented date, integer or enumerated filter field. An enumeration
// slices by its named values: numeric codes the spec also lists for the
// same values (link_nofollow's "0".."4") would count rows twice.
func Dims(m *serpstat.Method) []Dim {
	var dims []Dim
	for _, name := range m.Slices {
		f := m.Filter(name)
		if f == nil {
			continue
		}
		switch {
		case f.Kind == serpstat.KindDate || f.Kind == serpstat.KindInt:
			dims = append(dims, Dim{Field: f.Name, Kind: f.Kind})
		case len(f.Values) > 0:
			named := slices.DeleteFunc(slices.Clone(f.Values), isNumber)
			if len(named) == 0 {
				named = slices.Clone(f.Values)
			}
			dims = append(dims, Dim{Field: f.Name, Kind: serpstat.KindString, Values: named})
		}
	}
	return dims
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// Conds are the slice's conditions for m, to AND into every group: only
// forms the spec documents.
func (s Slice) Conds(m *serpstat.Method) []serpstat.Condition {
	var conds []serpstat.Condition
	for _, b := range s.Bounds {
		var values []string
		if b.Value == Other {
			for _, d := range Dims(m) {
				if d.Field == b.Field {
					values = d.Values
				}
			}
		}
		conds = append(conds, b.Conds(values)...)
	}
	return conds
}

// Filter ANDs the slice's conditions into every AND-group of the user's
// filter (an empty filter becomes one group).
func (s Slice) Filter(m *serpstat.Method, user serpstat.Filter) serpstat.Filter {
	conds := s.Conds(m)
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
func (s Slice) Params(m *serpstat.Method, query serpstat.Params) serpstat.Params {
	query.ComplexFilter = s.Filter(m, query.ComplexFilter)
	return query
}

// Label says in a few words what the slice holds.
func (s Slice) Label() string {
	if len(s.Bounds) == 0 {
		return "all"
	}
	parts := make([]string, len(s.Bounds))
	for i, b := range s.Bounds {
		parts[i] = b.Label()
	}
	return strings.Join(parts, ", ")
}

// Key names the slice for a checkpoint: a hash of its conditions.
func (s Slice) Key(m *serpstat.Method) string {
	js, _ := json.Marshal(s.Conds(m))
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:6])
}

// maxIntBound stops splitting open integer ranges.
const maxIntBound = 1 << 40

// with returns a copy of the slice's bounds with b set, in dims order.
func (s Slice) with(dims []Dim, b Bound) []Bound {
	out := make([]Bound, 0, len(s.Bounds)+1)
	done := false
	for _, d := range dims {
		if d.Field == b.Field {
			out = append(out, b)
			done = true
		} else if x := s.Bound(d.Field); x != nil {
			out = append(out, *x)
		}
	}
	if !done {
		out = append(out, b)
	}
	return out
}

// splitBound cuts the dimension d of a slice (cur its bound, nil when
// none yet) into bounds that partition it; ok is false when it cannot be
// cut further.
func splitBound(d Dim, cur *Bound, today time.Time) (parts []Bound, ok bool) {
	switch d.Kind {
	case serpstat.KindDate:
		from, to := filterDateFrom, today
		if cur != nil {
			from, to = cur.From, cur.To
		}
		if !to.After(from) {
			return nil, false
		}
		days := int(to.Sub(from).Hours()/24) + 1
		left := Bound{Field: d.Field, Kind: d.Kind, From: from, To: from.AddDate(0, 0, days/2-1)}
		right := Bound{Field: d.Field, Kind: d.Kind, From: left.To.AddDate(0, 0, 1), To: to}
		return []Bound{left, right}, true
	case serpstat.KindInt:
		left := Bound{Field: d.Field, Kind: d.Kind}
		right := left
		switch {
		case cur == nil:
			left.Lo, left.Hi = 0, 63
			right.Lo, right.Hi = 64, -1
		case cur.Hi < 0 && cur.Lo < maxIntBound:
			// Open-ended: double the bound.
			mid := max(cur.Lo, cur.Lo*2-1)
			left.Lo, left.Hi = cur.Lo, mid
			right.Lo, right.Hi = mid+1, -1
		case cur.Hi >= 0 && cur.Lo < cur.Hi:
			mid := cur.Lo + (cur.Hi-cur.Lo)/2
			left.Lo, left.Hi = cur.Lo, mid
			right.Lo, right.Hi = mid+1, cur.Hi
		default:
			return nil, false
		}
		return []Bound{left, right}, true
	}
	if cur != nil {
		return nil, false
	}
	for _, v := range append(slices.Clone(d.Values), Other) {
		parts = append(parts, Bound{Field: d.Field, Kind: d.Kind, Value: v})
	}
	return parts, true
}

// children cuts a slice into parts that partition it, along the first
// dimension that splits it and was not refused; ok is false when nothing
// splits it.
func (s Slice) children(dims []Dim, refused map[string]bool, today time.Time) (kids []Slice, dim string, ok bool) {
	for _, d := range dims {
		if refused[d.Field] {
			continue
		}
		parts, ok := splitBound(d, s.Bound(d.Field), today)
		if !ok {
			continue
		}
		for _, b := range parts {
			kids = append(kids, Slice{Bounds: s.with(dims, b)})
		}
		return kids, d.Field, true
	}
	return nil, "", false
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
	today        time.Time // the last day slicing looks at
	dims         []Dim
	refused      map[string]bool // dimensions the API refused to filter on
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
	root := Slice{Total: total, Exact: true}
	sp := &SlicePlan{sizeOne: sizeOneProbes, today: today, dims: Dims(p.Method), refused: map[string]bool{}}
	spentBefore := p.Budget.Spent()
	err := p.slice(ctx, root, sp, cache)
	sp.ProbeCredits = p.Budget.Spent() - spentBefore
	return sp, err
}

func (p *Pager) slice(ctx context.Context, s Slice, sp *SlicePlan, cache ProbeCache) error {
	if s.Total <= 0 {
		return nil
	}
	if s.Total <= p.Wall {
		sp.Slices = append(sp.Slices, s)
		return nil
	}
	for {
		kids, dim, ok := s.children(sp.dims, sp.refused, sp.today)
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
			sp.Refused = append(sp.Refused, dim)
			p.Logger.Warn("the API refused a slicing filter: slicing without it", "dimension", dim, "slice", s.Label(), "error", err)
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
				"slice", s.Label(), "dimension", dim, "parent_total", s.Total, "sum_of_parts", sum, "rows_in_doubt", diff)
		}
		for _, k := range kids {
			if err := p.slice(ctx, k, sp, cache); err != nil {
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
	key := s.Key(p.Method)
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
	pg, err := p.ProbeFor(ctx, s.Params(p.Method, p.Params), size)
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

// ShouldSlice is the one decision whether a query of plan is cut into
// slices: its rows go past the wall, slicing is not turned off (noSlice),
// more rows than the wall are wanted, and the Pager's method has a
// slicing dimension. A method with none stops at the wall, and the rows
// past it are reported unreachable.
func (p *Pager) ShouldSlice(plan Plan, noSlice bool) bool {
	p.Init()
	return plan.Unreachable > 0 && !noSlice && (p.MaxRows == 0 || p.MaxRows > plan.Wall) && len(Dims(p.Method)) > 0
}
