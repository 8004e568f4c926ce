package pager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Slicing gets past the wall: a query whose total is above it is cut into
// slices whose totals are each at or under it, along the method's slicing
// dimensions (serpstat.Method.Slices) in order: a date field as halved
// ranges, an AND of gte and lte written in the field's DateFormat
// (DD.MM.YYYY, or YYYY-MM-DD for the threat methods' lastupdate: the spec
// documents between for numbers only), until a single day; an integer field as
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
// own numbers. Every slice's total is read by a probe of size 1 (1
// credit), never inferred as the parent's less a sibling's, and the
// parts of every split must add up to their parent's total. When they do
// not (a filter the API ignores, or applies otherwise than documented),
// the split is dropped at once: probing stops as soon as the parts add up
// to more than their parent, that dimension is never tried again for that
// part or below it (NoEffect), and the next one is; a part nothing splits
// exports its first Wall rows and the rest are rows in doubt. A filter
// the API refuses while slicing (32117) is not the user's error: that
// dimension is dropped and the next one is tried. Probes stop at their
// allowance (ProbeAllowance): what is left unsplit then is in doubt too.
// So no answer can make slicing spend more than its allowance.

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
	// (written in the field's DateFormat: the spec documents between for
	// numbers only).
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
	// Unsplittable is set on a slice over the wall that nothing splits:
	// only its first Wall rows can be exported. InDoubt is set too when
	// it is because a slicing filter did not partition it (or the probe
	// allowance ran out): its rows past the wall are in doubt, not out of
	// reach.
	Unsplittable bool `json:",omitempty"`
	InDoubt      bool `json:",omitempty"`
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

// Conds are the bound's conditions on a filter field of m, to AND: only
// forms the spec documents, dates in the field's DateFormat. values are
// the documented values the remainder of an enumeration is neq.
func (b Bound) Conds(m *serpstat.Method, values []string) []serpstat.Condition {
	switch b.Kind {
	case serpstat.KindDate:
		format := serpstat.DateDMY
		if f := m.Filter(b.Field); f != nil {
			format = f.DateFormat
		}
		return []serpstat.Condition{
			{Field: b.Field, CompareType: "gte", Value: []any{format.Format(b.From)}},
			{Field: b.Field, CompareType: "lte", Value: []any{format.Format(b.To)}}}
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
		conds = append(conds, b.Conds(m, values)...)
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
// (after a crash) costs nothing.
type ProbeCache interface {
	// Total returns a slice's total learned before, if any.
	Total(ctx context.Context, key string) (int, bool)
	// SetTotal records a slice's total.
	SetTotal(ctx context.Context, key string, total int) error
}

// SliceOptions are how PlanSlices plans.
type SliceOptions struct {
	// Today is the last day date ranges reach; the zero time is today
	// (UTC). An export keeps the day it planned on, so a resume on a
	// later day asks the same probes (and finds them in the cache).
	Today time.Time
	// Cache keeps the probes' totals; nil: none.
	Cache ProbeCache
	// Want is the rows wanted (--max-rows less what is written already);
	// 0: all. Planning stops once the slices planned reach it.
	Want int
	// Held tells how many rows of a slice are held already (page 1's rows
	// that fall in it); nil: none.
	Held func(Slice) int
}

// SlicePlan is the slices of a query, in export order, and what planning
// them found and cost.
type SlicePlan struct {
	Today        time.Time // the last day date ranges reach
	Slices       []Slice
	Probes       int   // requests sent to plan them
	ProbeCredits int64 // credits those requests cost
	// Unreachable is the rows past the wall of slices nothing splits.
	Unreachable int
	// InDoubt is the rows past the wall of slices that a filter with no
	// effect (NoEffect) or the probe allowance left unsplit.
	InDoubt  int
	NoEffect []NoEffect `json:",omitempty"`
	// Refused names the dimensions the API refused to filter on (32117),
	// which slicing did without.
	Refused []string `json:",omitempty"`
	// Exhausted is set when probing stopped at its allowance.
	Exhausted bool `json:",omitempty"`
}

// Reachable is the rows the slices can export: each slice's total, or the
// wall for an unsplittable one.
func (sp *SlicePlan) Reachable(wall int) int {
	n := 0
	for _, s := range sp.Slices {
		n += min(s.Total, wall)
	}
	return n
}

// Sum is the slices' totals added up.
func (sp *SlicePlan) Sum() int {
	n := 0
	for _, s := range sp.Slices {
		n += s.Total
	}
	return n
}

// errAllowance stops probing at the probe allowance.
var errAllowance = errors.New("the probes' allowance is spent")

// PlanSlices cuts the Pager's query, of total rows, into slices of at most
// Wall rows each (see the package's notes on slicing), probing with s.
// Its probes cost at most ProbeAllowance(want, size, dimensions tried),
// want being o.Want or else total; a guard in s that refuses a probe
// (ErrOverPlan) stops probing like the allowance.
func (p *Pager) PlanSlices(ctx context.Context, s Session, total int, o SliceOptions) (*SlicePlan, error) {
	today := o.Today
	if today.IsZero() {
		now := time.Now().UTC()
		today = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	}
	want := o.Want
	if want <= 0 {
		want = total
	}
	x := &slicer{p: p, s: s, o: o, want: o.Want, allowWant: want, dims: Dims(p.c.Method), refused: map[string]bool{}, tried: map[string]bool{},
		sp: &SlicePlan{Today: today}, today: today.AddDate(0, 0, 1)}
	err := x.slice(ctx, Slice{Total: total}, nil)
	return x.sp, err
}

type slicer struct {
	p         *Pager
	s         Session
	o         SliceOptions
	sp        *SlicePlan
	dims      []Dim
	today     time.Time // the day after the last one date ranges reach
	refused   map[string]bool
	tried     map[string]bool // dimensions split along so far
	want      int             // rows wanted; 0: all
	allowWant int             // rows the probe allowance is a share of
	got       int             // rows the slices planned so far export
	noted     map[string]bool // NoEffect fields logged
}

func (x *slicer) allowance() int64 {
	return ProbeAllowance(x.allowWant, x.p.Size(), len(x.tried))
}

func (x *slicer) emit(sl Slice) {
	x.sp.Slices = append(x.sp.Slices, sl)
	held := 0
	if x.o.Held != nil {
		held = x.o.Held(sl)
	}
	x.got += max(0, min(sl.Total, x.p.Wall())-held)
}

func (x *slicer) slice(ctx context.Context, node Slice, dropped map[string]bool) error {
	wall := x.p.Wall()
	switch {
	case node.Total <= 0:
		return nil
	case x.want > 0 && x.got >= x.want:
		return nil // the rows wanted are planned
	case node.Total <= wall:
		x.emit(node)
		return nil
	}
	failed := false
	for _, d := range x.dims {
		if x.refused[d.Field] || dropped[d.Field] {
			continue
		}
		parts, ok := splitBound(d, node.Bound(d.Field), x.today)
		if !ok {
			continue
		}
		kids := make([]Slice, len(parts))
		for i, b := range parts {
			kids[i] = Slice{Bounds: node.with(x.dims, b)}
		}
		x.tried[d.Field] = true
		sum, err := x.probeAll(ctx, node, kids)
		switch {
		case errors.Is(err, errAllowance) || errors.Is(err, ErrOverPlan):
			x.sp.Exhausted = true
			x.p.c.Logger.Warn("slicing stopped at the probes' allowance: the rest of this part is in doubt", "slice", node.Label(), "total", node.Total, "probes", x.sp.Probes, "error", err)
			node.Unsplittable, node.InDoubt = true, true
			x.sp.InDoubt += node.Total - wall
			x.emit(node)
			return nil
		case serpstat.Classify(err) == serpstat.ClassInvalid:
			// The API refused the filter: not the user's error. Slice
			// along the next dimension instead.
			x.refused[d.Field] = true
			x.sp.Refused = append(x.sp.Refused, d.Field)
			x.p.c.Logger.Warn("the API refused a slicing filter: slicing without it", "dimension", d.Field, "slice", node.Label(), "error", err)
			continue
		case err != nil:
			return err
		}
		if sum != node.Total {
			ne := NoEffect{Field: d.Field, Slice: node.Label(), Parent: node.Total, Sum: sum}
			x.sp.NoEffect = append(x.sp.NoEffect, ne)
			if x.noted == nil {
				x.noted = map[string]bool{}
			}
			if !x.noted[d.Field] {
				x.noted[d.Field] = true
				x.p.c.Logger.Error("A SLICING FILTER DID NOT PARTITION THE QUERY: its parts' totals do not add up to their parent's, so the API ignores the filter or applies it otherwise than documented; slicing does without it there",
					"filter", d.Field, "slice", node.Label(), "parent_total", node.Total, "sum_of_parts", sum)
			}
			dropped = withField(dropped, d.Field)
			failed = true
			continue
		}
		for _, k := range kids {
			if err := x.slice(ctx, k, dropped); err != nil {
				return err
			}
		}
		return nil
	}
	node.Unsplittable = true
	if failed {
		node.InDoubt = true
		x.sp.InDoubt += node.Total - wall
	} else {
		x.sp.Unreachable += node.Total - wall
	}
	x.emit(node)
	return nil
}

func withField(m map[string]bool, f string) map[string]bool {
	out := make(map[string]bool, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out[f] = true
	return out
}

// probeAll learns the totals of the parts of a split of parent, in
// order, and stops as soon as they add up to more than the parent: the
// split does not partition it. sum is what they added up to.
func (x *slicer) probeAll(ctx context.Context, parent Slice, kids []Slice) (sum int, err error) {
	for i := range kids {
		if err := x.probe(ctx, &kids[i]); err != nil {
			return sum, err
		}
		sum += kids[i].Total
		if sum > parent.Total {
			return sum, nil
		}
	}
	return sum, nil
}

// probe learns s's total: from the cache, or with a request of size 1.
func (x *slicer) probe(ctx context.Context, s *Slice) error {
	p := x.p
	key := s.Key(p.c.Method)
	if x.o.Cache != nil {
		if t, ok := x.o.Cache.Total(ctx, key); ok {
			s.Total = t
			return nil
		}
	}
	if x.sp.ProbeCredits+1 > x.allowance() {
		return errAllowance
	}
	pg, err := p.Probe(ctx, x.s, s.Params(p.c.Method, p.c.Params), 1)
	if err != nil {
		return fmt.Errorf("slice %s: %w", s.Label(), err)
	}
	x.sp.Probes++
	x.sp.ProbeCredits += pg.Billed
	total := int(pg.Summary.Total)
	if total < 0 {
		if len(pg.Rows) >= 1 {
			return fmt.Errorf("slice %s: the API did not tell the slice's total, which slicing needs", s.Label())
		}
		total = len(pg.Rows)
	}
	s.Total = max(total, len(pg.Rows))
	if x.o.Cache != nil {
		if err := x.o.Cache.SetTotal(ctx, key, s.Total); err != nil {
			return err
		}
	}
	p.c.Logger.Debug("probed a slice", "slice", s.Label(), "total", s.Total)
	return nil
}

// ShouldSlice is the one decision whether a query of total rows is cut
// into slices: its rows go past the wall, slicing is not turned off
// (noSlice), more rows than the wall are wanted, and the Pager's method
// has a slicing dimension. A method with none stops at the wall, and the
// rows past it are reported unreachable.
func (p *Pager) ShouldSlice(total int, noSlice bool) bool {
	return total > p.c.Wall && !noSlice && (p.c.MaxRows == 0 || p.c.MaxRows > p.c.Wall) && len(Dims(p.c.Method)) > 0
}

// Checkable tells whether Holds can test every bound of s on a row of m:
// each is on a date or integer field whose column holds the same values.
func (s Slice) Checkable(m *serpstat.Method) bool {
	for _, b := range s.Bounds {
		if _, ok := b.column(m); !ok {
			return false
		}
	}
	return true
}

// Holds tells whether row r of m satisfies every bound of s that can be
// tested on it (see Checkable); a bound that cannot, or a null value,
// does not count against it. failed is the first bound that fails.
func (s Slice) Holds(m *serpstat.Method, r *serpstat.Row) (ok bool, failed *Bound) {
	for i := range s.Bounds {
		if !s.Bounds[i].Holds(m, r) {
			return false, &s.Bounds[i]
		}
	}
	return true, nil
}

// column is the index of the column b's field tests, when its values can
// be compared with the bound: a date column for a date field, an integer
// column for an integer field. (A timestamp against a date, or an
// enumeration's filter values against the names an answer holds, are not
// compared: the API's rule is not documented.)
func (b Bound) column(m *serpstat.Method) (int, bool) {
	f := m.Filter(b.Field)
	if f == nil || f.Column == "" {
		return -1, false
	}
	i := m.ColumnIndex(f.Column)
	if i < 0 {
		return -1, false
	}
	switch c := m.Columns[i].Kind; {
	case b.Kind == serpstat.KindDate && c == serpstat.KindDate:
	case b.Kind == serpstat.KindInt && c == serpstat.KindInt:
	default:
		return -1, false
	}
	return i, true
}

// Holds tells whether row r of m satisfies b, as far as it can tell: true
// when b cannot be tested on r (see Slice.Checkable) or r's value is null.
func (b Bound) Holds(m *serpstat.Method, r *serpstat.Row) bool {
	i, ok := b.column(m)
	if !ok || i >= len(r.Values) || r.Values[i].Null {
		return true
	}
	v := r.Values[i]
	switch b.Kind {
	case serpstat.KindDate:
		d, err := serpstat.ParseDate(v.Str)
		if err != nil {
			return true
		}
		return !d.Before(b.From) && !d.After(b.To)
	case serpstat.KindInt:
		return v.Int >= b.Lo && (b.Hi < 0 || v.Int <= b.Hi)
	}
	return true
}

// ValueOf says a row's value of b's field, for messages.
func (b Bound) ValueOf(m *serpstat.Method, r *serpstat.Row) string {
	i, ok := b.column(m)
	if !ok || i >= len(r.Values) {
		return "?"
	}
	v := r.Values[i]
	switch {
	case v.Null:
		return "null"
	case b.Kind == serpstat.KindInt:
		return strconv.FormatInt(v.Int, 10)
	}
	return v.Str
}

// NoValue marks a Point's value that is null or cannot be compared with
// a bound.
const NoValue = math.MinInt64

// Point is a row's values of a method's slicing dimensions (Dims), for
// telling which slice holds the row without keeping it: a date as days
// since 1970-01-01, an integer as itself, NoValue where the row's value
// is null or its column cannot be compared with a bound.
type Point []int64

// PointOf is r's Point for m's dimensions dims.
func PointOf(m *serpstat.Method, dims []Dim, r *serpstat.Row) Point {
	return AppendPoint(make(Point, 0, len(dims)), m, dims, r)
}

// AppendPoint appends r's Point for m's dimensions dims to dst: for many
// rows kept one after another, without a slice each.
func AppendPoint(dst []int64, m *serpstat.Method, dims []Dim, r *serpstat.Row) []int64 {
	for _, d := range dims {
		v := int64(NoValue)
		b := Bound{Field: d.Field, Kind: d.Kind}
		if c, ok := b.column(m); ok && c < len(r.Values) && !r.Values[c].Null {
			x := r.Values[c]
			switch d.Kind {
			case serpstat.KindDate:
				if t, err := serpstat.ParseDate(x.Str); err == nil {
					v = t.Unix() / 86400
				}
			case serpstat.KindInt:
				v = x.Int
			}
		}
		dst = append(dst, v)
	}
	return dst
}

// Contains tells whether the row of pt is provably in s: every bound of
// s can be tested (Checkable) and pt's value satisfies it. dims are the
// method's (Dims), in pt's order.
func (s Slice) Contains(dims []Dim, pt Point) bool {
	for _, b := range s.Bounds {
		i := slices.IndexFunc(dims, func(d Dim) bool { return d.Field == b.Field })
		if i < 0 || i >= len(pt) || pt[i] == NoValue {
			return false
		}
		v := pt[i]
		switch b.Kind {
		case serpstat.KindDate:
			if v < b.From.Unix()/86400 || v > b.To.Unix()/86400 {
				return false
			}
		case serpstat.KindInt:
			if v < b.Lo || b.Hi >= 0 && v > b.Hi {
				return false
			}
		default:
			return false
		}
	}
	return true
}
