package pager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Slicing gets past the wall: a query whose total is above it is cut into
// slices whose totals are each at or under it, by first-seen date (the
// `add` field), and a single day still over the wall by links_external
// ranges, then by link_nofollow and link_type. Each slice's conditions are
// AND-ed into every AND-group of the user's complexFilter, so the slices
// partition the query's rows: no row is in two slices.

// Slice is one part of a sliced query.
type Slice struct {
	// From and To bound the first-seen date (the `add` field), inclusive.
	From, To time.Time
	// LinksLo..LinksHi bounds links_external, inclusive, when Links is
	// set; LinksHi < 0 means no upper bound.
	Links            bool
	LinksLo, LinksHi int
	// Nofollow and LinkType are "", "eq" or "neq": equal to "follow" /
	// "href", or not.
	Nofollow, LinkType string
	// Total is the rows the slice matches, as a probe told or as the
	// parent's total less its sibling's (Exact false).
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

// Conds are the slice's conditions, to AND into every group.
func (s Slice) Conds() []serpstat.Condition {
	conds := []serpstat.Condition{{Field: "add", CompareType: "between", Value: []any{serpstat.FormatFilterDate(s.From), serpstat.FormatFilterDate(s.To)}}}
	if s.Links {
		if s.LinksHi < 0 {
			conds = append(conds, serpstat.Condition{Field: "links_external", CompareType: "gte", Value: []any{s.LinksLo}})
		} else {
			conds = append(conds, serpstat.Condition{Field: "links_external", CompareType: "between", Value: []any{s.LinksLo, s.LinksHi}})
		}
	}
	if s.Nofollow != "" {
		conds = append(conds, serpstat.Condition{Field: "link_nofollow", CompareType: s.Nofollow, Value: []any{"follow"}})
	}
	if s.LinkType != "" {
		conds = append(conds, serpstat.Condition{Field: "link_type", CompareType: s.LinkType, Value: []any{"href"}})
	}
	return conds
}

// Filter ANDs the slice's conditions into every AND-group of the user's
// filter (an empty filter becomes one group).
func (s Slice) Filter(user serpstat.Filter) serpstat.Filter {
	conds := s.Conds()
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
	var b strings.Builder
	if s.From.Equal(s.To) {
		b.WriteString("add " + s.From.Format(time.DateOnly))
	} else {
		b.WriteString("add " + s.From.Format(time.DateOnly) + ".." + s.To.Format(time.DateOnly))
	}
	if s.Links {
		if s.LinksHi < 0 {
			fmt.Fprintf(&b, ", links_external ≥ %d", s.LinksLo)
		} else {
			fmt.Fprintf(&b, ", links_external %d..%d", s.LinksLo, s.LinksHi)
		}
	}
	if s.Nofollow != "" {
		b.WriteString(", link_nofollow " + s.Nofollow + " follow")
	}
	if s.LinkType != "" {
		b.WriteString(", link_type " + s.LinkType + " href")
	}
	return b.String()
}

// Key names the slice for a checkpoint: a hash of its conditions.
func (s Slice) Key() string {
	js, _ := json.Marshal(s.Conds())
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:6])
}

// split cuts a slice in two halves that partition it; ok is false when
// nothing splits it. The weight is the left half's expected share.
func (s Slice) split() (left, right Slice, weight float64, ok bool) {
	left, right = s, s
	left.Total, right.Total, left.Exact, right.Exact, left.First, right.First = 0, 0, false, false, nil, nil
	switch {
	case s.To.After(s.From):
		days := int(s.To.Sub(s.From).Hours()/24) + 1
		half := days / 2
		left.To = s.From.AddDate(0, 0, half-1)
		right.From = left.To.AddDate(0, 0, 1)
		return left, right, float64(half) / float64(days), true
	case !s.Links:
		left.Links, right.Links = true, true
		left.LinksLo, left.LinksHi = 0, 63
		right.LinksLo, right.LinksHi = 64, -1
		return left, right, 0.5, true
	case s.LinksHi < 0:
		// Open-ended: double the bound.
		mid := s.LinksLo*2 - 1
		left.LinksHi = mid
		right.LinksLo = mid + 1
		return left, right, 0.5, true
	case s.LinksLo < s.LinksHi:
		mid := s.LinksLo + (s.LinksHi-s.LinksLo)/2
		left.LinksHi = mid
		right.LinksLo = mid + 1
		return left, right, float64(mid-s.LinksLo+1) / float64(s.LinksHi-s.LinksLo+1), true
	case s.Nofollow == "":
		left.Nofollow, right.Nofollow = "eq", "neq"
		return left, right, 0.5, true
	case s.LinkType == "":
		left.LinkType, right.LinkType = "eq", "neq"
		return left, right, 0.5, true
	}
	return s, s, 0, false
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
// links_external, link_nofollow, link_type), and what planning cost.
type SlicePlan struct {
	sizeOne      bool
	Slices       []Slice
	Probes       int   // requests sent to plan them
	ProbeCredits int64 // credits those requests cost
	Unreachable  int   // rows of unsplittable slices past the wall
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
// changed meanwhile.
func (sp SlicePlan) Sum() int {
	n := 0
	for _, s := range sp.Slices {
		n += s.Total
	}
	return n
}

// PlanSlices cuts the query (the Pager's Params) of total rows into slices
// of at most Wall rows, from filterDateFrom to today. Each half is
// probed: with size 1 (1 credit) when it is expected to be over the wall,
// and with the full page size otherwise, so that the probe is the slice's
// page 1 (useful data, kept in Slice.First). A right half's total is the
// parent's less the left half's, with no request.
//
// With sizeOneProbes every probe asks for 1 row: planning then costs a
// credit a probe, for an estimate that exports nothing.
func (p *Pager) PlanSlices(ctx context.Context, total int, now time.Time, cache ProbeCache, sizeOneProbes bool) (*SlicePlan, error) {
	p.Init()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	root := Slice{From: filterDateFrom, To: today, Total: total, Exact: true}
	sp := &SlicePlan{sizeOne: sizeOneProbes}
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
	left, right, weight, ok := s.split()
	if !ok {
		s.Unsplittable = true
		sp.Unreachable += s.Total - p.Wall
		sp.Slices = append(sp.Slices, s)
		return nil
	}
	if err := p.probe(ctx, &left, float64(s.Total)*weight, sp, cache); err != nil {
		return err
	}
	right.Total = max(0, s.Total-left.Total)
	if err := p.slice(ctx, left, sp, cache); err != nil {
		return err
	}
	return p.slice(ctx, right, sp, cache)
}

// probe learns s's total: from the cache, or with a request of size 1 when
// it is expected over the wall, or of the full size otherwise (its page 1).
func (p *Pager) probe(ctx context.Context, s *Slice, expected float64, sp *SlicePlan, cache ProbeCache) error {
	key := s.Key()
	if cache != nil {
		if t, ok := cache.Total(key); ok {
			s.Total, s.Exact = t, true
			return nil
		}
	}
	size := p.Params.Size
	if expected > float64(p.Wall) || sp.sizeOne {
		size = 1
	}
	pg, err := p.ProbeFor(ctx, s.Params(p.Params), size)
	if err != nil {
		return fmt.Errorf("slice %s: %w", s.Label(), err)
	}
	sp.Probes++
	s.Total, s.Exact = max(int(pg.Summary.Total), len(pg.Rows)), true
	if size == p.Params.Size {
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
