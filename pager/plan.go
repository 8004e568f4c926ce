package pager

import (
	"fmt"
	"math"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// The plan of an export. Every credit an export spends is planned here,
// by pure functions that estimate and export both call:
//
//   - Page 1 of the query (First) tells the total. Its rows are written
//     first and are the rows Held: the export never buys them again.
//   - The query is one Part, or, past the wall, the slices slicing found
//     (slice.go), each a Part: its total, the rows of it already held (a
//     prefix of the part), the rows to export (Reach: under the wall and
//     --max-rows) and the requests (Steps) that read the rest, each once.
//   - Probes: the size-1 requests that told the slices' totals.
//
// Plan.Cost is what the export bills when every answer is as planned.
// Plan.Guard is the most it may bill whatever the API answers: the plan,
// plus a slack for re-reads of rows that new data shifted and for retries
// of answers that were billed but arrived broken, and never more than
// twice the query's total. Probes have their own allowance while slicing
// is planned (ProbeAllowance). The exporter enforces the guard with a
// Budget (Budget.Guard), so no answer of the API can make an export spend
// more: what the guard cannot pay for is reported as rows in doubt.

// Allowances of the guard.
const (
	// ProbeShare of the rows wanted, plus a page per slicing dimension
	// tried, is what the probes of slicing may cost (ProbeAllowance).
	ProbeShare = 0.02
	// SlackShare of the reachable rows, plus a page, is what an export may
	// spend beyond its plan, on re-reads of rows new data shifted and
	// retries of billed answers that arrived broken (Plan.Guard).
	SlackShare = 0.05
)

// Step is one request: page number and size, so its offset is
// (Page-1)×Size.
type Step struct {
	Page, Size int
}

// Offset is the first row the step reads (0-based).
func (s Step) Offset() int { return (s.Page - 1) * s.Size }

// End is the offset past the last row the step reads.
func (s Step) End() int { return s.Page * s.Size }

// StepAt is the step of size rows at offset, which size must divide.
func StepAt(offset, size int) Step { return Step{Page: offset/size + 1, Size: size} }

// Cost is what st costs in a part of total rows: a credit a row it
// returns, and 1 for an empty answer.
func (s Step) Cost(total int) int64 {
	return int64(max(1, min(s.Size, total-s.Offset())))
}

// Part is the plan of one part of an export: the whole query, or one
// slice of it.
type Part struct {
	// Slice is the part's bounds (none for the whole query) and total.
	Slice Slice
	// Key names the part in a checkpoint: "" for the whole query, the
	// slice's key (Slice.Key) for a slice.
	Key    string
	Params serpstat.Params
	Size   int // rows per page
	Wall   int // rows the API serves of the part at most
	// Held is the rows of the part held already: its first Held rows, in
	// its order (page 1, or the rows of page 1 that fall in this slice).
	Held int
	// Reach is the rows of the part to export, held ones included:
	// min(Total, Wall), cut by --max-rows.
	Reach int
	// Steps are the requests that read rows Held..Reach-1, in order.
	Steps []Step
	// TotalUnknown is set when the API did not tell the part's total:
	// Total is then the wall, an upper bound, and the steps are asked one
	// after another until a short page.
	TotalUnknown bool
}

// Total is the rows the part matches.
func (p *Part) Total() int { return p.Slice.Total }

// NewPart plans a part of total rows at size rows a page under wall,
// whose first held rows are held already, for at most want rows more (0:
// all). Every row it plans to read is read once: full pages from an
// offset size divides, and, where that cannot be (after held rows that are
// not a whole page) or must not be (short of the total, at the wall or
// --max-rows), the fewest requests that read exactly the rows wanted
// (ExactSteps).
func NewPart(total, size, wall, held, want int) Part {
	reach := min(total, wall)
	if want > 0 {
		reach = min(reach, held+want)
	}
	reach = max(reach, min(held, total))
	p := Part{Slice: Slice{Total: total}, Size: size, Wall: wall, Held: held, Reach: reach}
	p.Steps = PlanSteps(held, reach, size, reach < total)
	return p
}

// FirstPart plans the whole query after page 1, whose rows are held:
// NewPart for at most maxRows rows in all (0: all), the held ones
// included.
func FirstPart(total, size, wall, held, maxRows int) Part {
	if maxRows <= 0 {
		return NewPart(total, size, wall, held, 0)
	}
	if want := maxRows - held; want > 0 {
		return NewPart(total, size, wall, held, want)
	}
	p := NewPart(total, size, wall, held, 0)
	p.Reach, p.Steps = held, nil
	return p
}

// PlanSteps returns the requests that read rows from..to-1 at most size
// at a time. With exact (nothing past to may be read: the wall, or rows
// not wanted) they are the fewest that read exactly those rows
// (ExactSteps); otherwise full pages where offsets allow, after the
// fewest exact ones up to the first offset size divides, and the last
// page may ask past to: the API bills only rows it has.
func PlanSteps(from, to, size int, exact bool) []Step {
	if to <= from || size < 1 {
		return nil
	}
	if exact {
		return ExactSteps(from, to, size)
	}
	var steps []Step
	o := from
	if r := o % size; r != 0 {
		head := min(to, o-r+size)
		steps = append(steps, ExactSteps(o, head, size)...)
		o = head
	}
	for ; o < to; o += size {
		steps = append(steps, StepAt(o, size))
	}
	return steps
}

// Cost is what the part's steps cost when every answer is as planned.
func (p *Part) Cost() int64 {
	var sum int64
	for _, st := range p.Steps {
		sum += st.Cost(p.Slice.Total)
	}
	return sum
}

// Unreachable is the part's rows past the wall.
func (p *Part) Unreachable() int { return max(0, p.Slice.Total-p.Wall) }

// NoEffect says that a slicing filter did not partition a part: its
// parts' totals did not add up to the part's (a filter the API ignores,
// or applies otherwise than documented), or a row of a slice did not
// satisfy the slice's own filter.
type NoEffect struct {
	Field  string // the filter field
	Slice  string // the part it failed to split (Slice.Label)
	Parent int    // the part's total
	Sum    int    // its parts' totals added up; -1 for a row
	Row    string `json:",omitempty"` // the value a row held, for a row
}

func (n NoEffect) String() string {
	if n.Sum < 0 {
		return fmt.Sprintf("%s (a row of the slice %s holds %s)", n.Field, n.Slice, n.Row)
	}
	return fmt.Sprintf("%s (the parts of %s add up to %d, not %d)", n.Field, n.Slice, n.Sum, n.Parent)
}

// Plan is the plan of a whole export: page 1, the probes, and the parts.
type Plan struct {
	Params  serpstat.Params // the query
	Total   int             // rows it matches, as page 1 told
	Size    int
	Wall    int
	MaxRows int // 0: all
	// First is page 1 as asked, and FirstCost what it cost (or, for an
	// estimate, will cost).
	First     Step
	FirstCost int64
	// Held is the rows of the query held before the parts: page 1's, or
	// more when the API drew its wall earlier than Wall and the pages
	// before it were written. They are written first, and each part
	// reuses those that fall in it (Part.Held).
	Held int
	// Sliced is set when the query is cut into slices to get past the
	// wall: Parts are then the slices, in export order.
	Sliced bool
	Parts  []Part
	// Probes are the requests sent to plan the slices, and ProbeCredits
	// what they cost.
	Probes       int
	ProbeCredits int64
	// Unreachable is the matching rows past the wall that nothing
	// reaches: with slicing off, for a method that cannot slice, or in a
	// slice nothing splits further.
	Unreachable int
	// InDoubt is the matching rows the plan cannot prove it reaches:
	// parts whose split did not add up (NoEffect) or that the probe
	// allowance could not split, past the wall.
	InDoubt  int
	NoEffect []NoEffect `json:",omitempty"`
	// Refused names the slicing fields the API refused (32117), which
	// slicing did without.
	Refused []string `json:",omitempty"`
	// TotalUnknown is set when the API did not tell the total.
	TotalUnknown bool
	// NotPaged is set for a method that is not paged (PlanWhole): the
	// plan is its one request, First, which costs FirstCost; Total is
	// the rows its answer holds when they are known before asking
	// (TotalUnknown otherwise).
	NotPaged bool `json:",omitempty"`
}

// Reachable is the rows the export writes when every answer is as
// planned: the parts' rows, and with --max-rows the rows held (written
// first, wherever they fall) and what the parts add to them.
func (p *Plan) Reachable() int {
	if p.NotPaged {
		return p.Total
	}
	n, fresh := 0, 0
	for i := range p.Parts {
		n += p.Parts[i].Reach
		fresh += p.Parts[i].Reach - p.Parts[i].Held
	}
	if !p.Sliced {
		return n
	}
	if p.MaxRows > 0 {
		return min(p.MaxRows, p.Held+fresh)
	}
	return max(n, p.Held)
}

// Pages is the requests the plan sends after page 1, probes included.
func (p *Plan) Pages() int {
	n := p.Probes
	for i := range p.Parts {
		n += len(p.Parts[i].Steps)
	}
	return n
}

// Cost is what the export bills when every answer is as planned: page 1,
// the probes and every part's steps.
func (p *Plan) Cost() int64 {
	sum := p.FirstCost + p.ProbeCredits
	for i := range p.Parts {
		sum += p.Parts[i].Cost()
	}
	return sum
}

// CostLeft is what the steps not stored yet cost: what a run that
// resumes from stored pages still pays.
func (p *Plan) CostLeft(stored func(part string, st Step) bool) int64 {
	if p.NotPaged {
		if stored != nil && stored("", p.First) {
			return 0
		}
		return p.FirstCost
	}
	var sum int64
	for i := range p.Parts {
		pt := &p.Parts[i]
		for _, st := range pt.Steps {
			if stored == nil || !stored(pt.Key, st) {
				sum += st.Cost(pt.Slice.Total)
			}
		}
	}
	return sum
}

// Guard is the most the export may bill, whatever the API answers: page
// 1, the probes and what Allowed allows the parts.
func (p *Plan) Guard() int64 {
	if p.NotPaged {
		return p.FirstCost // the one request's price, retries of billed broken answers aside
	}
	spent := p.FirstCost + p.ProbeCredits
	return spent + p.Allowed(spent, p.Cost()-spent)
}

// Allowed is what an attempt of the export may still spend once it has
// spent spent (page 1 and the probes it bought) and left is what the
// plan's steps not bought yet cost: left, plus SlackShare of the
// reachable rows and a page (for re-reads of rows new data shifted and
// retries of billed answers that arrived broken), within twice the
// query's total for the attempt, and never less than left.
func (p *Plan) Allowed(spent, left int64) int64 {
	slack := int64(math.Ceil(SlackShare*float64(p.Reachable()))) + int64(p.Size)
	return min(left+slack, p.Ceiling(spent, left))
}

// Ceiling is the most an attempt of the export may ever spend once it has
// spent spent and left is what the plan's steps not bought yet cost:
// twice the query's total for the attempt, and never less than left. The
// guard starts at Allowed and is raised towards Ceiling only by what
// answers show is needed to re-read rows that new data shifted.
func (p *Plan) Ceiling(spent, left int64) int64 {
	return max(left, 2*int64(max(p.Total, 1))-spent)
}

// ProbeAllowance is what the probes of slicing may cost: ProbeShare of
// the rows wanted plus a page per slicing dimension tried.
func ProbeAllowance(want, size, dimsTried int) int64 {
	return int64(math.Ceil(ProbeShare*float64(want))) + int64(size)*int64(dimsTried)
}

// AssignHeld predicts which parts reuse the rows of page 1 when they are
// not known (an estimate): the first rows of the parts, in export order,
// as in the API's order when it sorts by the first slicing field. It
// re-plans each part from there, for at most want rows in all (0: all).
func AssignHeld(parts []Part, held, want int) {
	for i := range parts {
		pt := &parts[i]
		k := min(held, pt.Reach)
		held -= k
		*pt = pt.replan(k, 0)
	}
	if want > 0 {
		CapParts(parts, want)
	}
}

// CapParts cuts the parts' reach so that they export at most want rows
// in all, in order, and re-plans them.
func CapParts(parts []Part, want int) {
	left := want
	for i := range parts {
		pt := &parts[i]
		more := max(0, min(left, pt.Reach-pt.Held))
		*pt = pt.replan(pt.Held, max(more, 0))
		if more == 0 {
			pt.Reach, pt.Steps = pt.Held, nil
		}
		left -= more
	}
}

// replan plans the part again with held rows held, for at most want more
// (0: all it can reach).
func (p Part) replan(held, want int) Part {
	q := NewPart(p.Slice.Total, p.Size, p.Wall, held, want)
	q.Slice, q.Key, q.Params, q.TotalUnknown = p.Slice, p.Key, p.Params, p.TotalUnknown
	return q
}

// FirstSize is the size page 1 is asked with when at most maxRows rows
// are wanted (0: all): the first step of their exact plan when the wall
// does not cut first; size otherwise.
func FirstSize(size, maxRows, wall int) int {
	if maxRows <= 0 || maxRows >= wall {
		return min(size, wall)
	}
	return ExactSteps(0, maxRows, size)[0].Size
}

// Describe says how the plan pages, for estimate: "60 pages of 1000
// rows", or the runs of sizes, "3 pages of 1000 rows, then 1 of 1".
func (p *Plan) Describe() string {
	pages := func(n int) string {
		if n == 1 {
			return "1 page"
		}
		return fmt.Sprintf("%d pages", n)
	}
	if p.NotPaged {
		return "1 request (not paged)"
	}
	if p.Sliced {
		n := 0
		for i := range p.Parts {
			n += len(p.Parts[i].Steps)
		}
		return fmt.Sprintf("page 1, %d probes, then %d pages of at most %d rows in %d slices", p.Probes, n, p.Size, len(p.Parts))
	}
	steps := append([]Step{p.First}, p.partSteps()...)
	var b strings.Builder
	for i := 0; i < len(steps); {
		j := i
		for j < len(steps) && steps[j].Size == steps[i].Size {
			j++
		}
		if i == 0 {
			fmt.Fprintf(&b, "%s of %d rows", pages(j-i), steps[i].Size)
		} else {
			fmt.Fprintf(&b, ", then %d of %d", j-i, steps[i].Size)
		}
		i = j
	}
	return b.String()
}

func (p *Plan) partSteps() []Step {
	var out []Step
	for i := range p.Parts {
		out = append(out, p.Parts[i].Steps...)
	}
	return out
}
