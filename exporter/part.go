package exporter

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// partRun is one part being exported (the query, or a slice): its plan
// and what the writer knows of it.
type partRun struct {
	pt     pager.Part
	params serpstat.Params
	// rows is the rows of the part written, its held ones included, and
	// those cut or dropped as duplicates.
	rows int64

	// Live data (see live.go): the rows written, as hashes; the last row
	// written; the total the last page reported and the largest seen;
	// rows whose export could not be proven.
	seen      map[uint64]struct{}
	last      serpstat.Row
	hasLast   bool
	lastTotal int
	maxTotal  int
	inDoubt   int64

	// A slice's: rows written before it (the query's held rows), which it
	// drops, and how many of its bought pages held (see slices.go).
	before   map[uint64]struct{}
	heldDups int
	// check makes every row of a slice prove that it satisfies the
	// slice's filter; failed is the first one that did not.
	check  bool
	failed *pager.NoEffect

	// The query's: the Points of the rows written, one after another
	// (len(dims) values each), kept when a wall may make it slice later
	// (see slices.go).
	keepPoints bool
	points     []int64
	// pointsCut: rows past maxPointRows were written and their points
	// not kept; an API wall past them cannot be sliced under.
	pointsCut bool

	// wallAt is the offset the API stopped serving rows at, before the
	// wall planned with; -1 while it serves.
	wallAt int
}

func newPartRun(pt pager.Part, params serpstat.Params) *partRun {
	pt.Params = params
	return &partRun{pt: pt, params: params, rows: 0, wallAt: -1}
}

// maxPointRows is how many rows of the query keep their Points for
// slicing under an API wall met before the wall planned with: the API's
// own wall. A part past it (only with --wall raised past the API's)
// would hold len(dims) values a row for the whole export.
var maxPointRows = serpstat.Wall // a var for a test

// errWallHit halts a part's pages at the API's wall (partRun.wallAt).
var errWallHit = errors.New("the API stopped serving rows")

// errFilterIgnored halts a slice whose answer holds a row its filter
// excludes (partRun.failed).
var errFilterIgnored = errors.New("a slice's answer holds a row its filter excludes")

// result is a page of a part's steps, or why it could not be had.
type result struct {
	i    int // index of its step
	page *pager.Page
	err  error
}

// flow counts the pages between the dispatcher and the writer: requests
// in flight, and pages dispatched but not yet written (the window).
type flow struct {
	inflight, outstanding atomic.Int64
	peak                  atomic.Int64  // most requests in flight at once
	wake                  chan struct{} // capacity 1: a change to look at
}

func (f *flow) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// exportPart exports the steps of a part whose held rows are written,
// then reads on past its planned end when new data pushed rows there.
func (r *run) exportPart(ctx context.Context, pr *partRun) error {
	if err := r.pages(ctx, pr); err != nil {
		return err
	}
	if pr.wallAt >= 0 {
		return nil
	}
	err := r.tail(ctx, pr)
	r.rep.InDoubt += pr.inDoubt
	pr.inDoubt = 0
	return err
}

// pages buys (or loads) a part's steps with the workers and writes them
// in order. It returns nil when the API stopped serving rows (wallAt).
func (r *run) pages(ctx context.Context, pr *partRun) error {
	steps := pr.pt.Steps
	if len(steps) == 0 {
		return nil
	}
	rep, f := r.rep, r.f
	// Every result is for a page counted in f.outstanding, which the
	// dispatcher keeps within the window, so no send on results blocks.
	results := make(chan result, max(r.e.Window, 2*MaxWorkers)+1)
	halted := make(chan struct{})
	go r.dispatch(ctx, pr, halted, results)
	consumed := func() {
		f.outstanding.Add(-1)
		f.signal()
	}
	var stopErr error
	halt := func(err error) {
		if stopErr == nil {
			stopErr = err
			close(halted)
		}
	}
	unwritten := func(res result) {
		if res.err == nil && !res.page.Spooled {
			rep.UnwrittenPages++
		}
		consumed()
	}
	pending := make(map[int]result)
	next := 0
	for res := range results {
		if stopErr != nil {
			unwritten(res)
			continue
		}
		pending[res.i] = res
		for {
			res, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			consumed()
			if errors.Is(res.err, pager.ErrWall) {
				// The API refused the page as past its wall.
				pr.wallAt = steps[next].Offset()
				halt(errWallHit)
				break
			}
			if res.err != nil {
				halt(res.err)
				break
			}
			if err := r.write(ctx, pr, res.page); err != nil {
				halt(err)
				break
			}
			next++
		}
		if stopErr != nil {
			for _, res := range pending {
				unwritten(res)
			}
			clear(pending)
		}
	}
	switch {
	case errors.Is(stopErr, errWallHit):
		return nil
	case stopErr == nil && next < len(steps):
		stopErr = ctx.Err()
		if stopErr == nil {
			stopErr = errors.New("export ended before its last page")
		}
	}
	return stopErr
}

// dispatch hands a part's steps to the workers in order: a step the
// checkpoint holds is loaded, any other is reserved and fetched. It
// closes results when every worker is done.
func (r *run) dispatch(ctx context.Context, pr *partRun, halted <-chan struct{}, results chan<- result) {
	var g errgroup.Group
	defer func() {
		_ = g.Wait()
		close(results)
	}()
	f, key, n0 := r.f, pr.pt.Key, 2
	if key != "" {
		n0 = 1
	}
	for i, st := range pr.pt.Steps {
		for {
			if r.mayDispatch(pr.pt.Size) {
				break
			}
			select {
			case <-f.wake:
			case <-halted:
				return
			case <-ctx.Done():
				return
			}
		}
		// The writer halted (an output failed: a closed pipe, a full
		// disk) or the run is cancelled: buy nothing more.
		select {
		case <-halted:
			return
		case <-ctx.Done():
			return
		default:
		}
		f.outstanding.Add(1)
		select {
		case <-r.e.Stop:
			results <- result{i: i, err: fmt.Errorf("page %d: %w", n0+i, pager.ErrInterrupted)}
			return
		default:
		}
		pg, err := r.load(ctx, key, st)
		if err == nil && pg == nil {
			pg, err = r.rereadRaw(ctx, key, st)
		}
		if err != nil || pg != nil {
			results <- result{i: i, page: pg, err: err}
			if err != nil {
				return
			}
			continue
		}
		if err := r.saveFailed(); err != nil {
			// Disk full or the like: send nothing more that could not be
			// kept.
			results <- result{i: i, err: fmt.Errorf("page %d not asked: the checkpoint could not store an earlier page: %w", n0+i, err)}
			return
		}
		release, err := r.slot(ctx, halted)
		if err != nil {
			results <- result{i: i, err: fmt.Errorf("page %d: %w", n0+i, err)}
			return
		}
		t, err := r.p.Reserve(ctx, r.sess, pager.Request{N: n0 + i, Params: pr.params, Step: st, Cost: st.Cost(pr.pt.Total())})
		if err != nil {
			release()
			results <- result{i: i, err: err}
			return
		}
		if in := f.inflight.Add(1); in > f.peak.Load() {
			f.peak.Store(in)
		}
		// Workers report failures as results, never to the group: one
		// page's failure must not cancel requests in flight, which are
		// paid for. A page counts as done once the checkpoint holds it.
		g.Go(func() error {
			page, err := r.p.Fetch(ctx, r.sess, t)
			release()
			if err == nil {
				r.save(ctx, key, page)
			} else {
				err = r.keepUnexpected(ctx, key, err)
			}
			f.inflight.Add(-1)
			f.signal()
			results <- result{i: i, page: page, err: err}
			return nil
		})
	}
}

// write writes a page's rows to every sink: a slice's rows checked
// against its filter, a junction that may hide rows repaired first (see
// live.go), rows already written dropped (new rows inserted above them
// while exporting push them across a page boundary), and rows past what
// the part is to export cut. A page shorter than planned while its total
// says more rows follow is the API's wall: its rows are written and the
// part halts there (wallAt).
func (r *run) write(ctx context.Context, pr *partRun, pg *pager.Page) error {
	rep := r.rep
	if pr.check {
		for i := range pg.Rows {
			if ok, b := pr.pt.Slice.Holds(r.m, &pg.Rows[i]); !ok {
				pr.failed = &pager.NoEffect{Field: b.Field, Slice: pr.pt.Slice.Label(), Parent: pr.pt.Total(), Sum: -1, Row: b.ValueOf(r.m, &pg.Rows[i])}
				return errFilterIgnored
			}
		}
	}
	if pg.Spooled {
		rep.Resumed++
	}
	t := int(pg.Summary.Total)
	if t > 0 && pr.pt.Total() > 0 && t != pr.pt.Total() && t != rep.LastTotal {
		r.log.Warn("the query's total changed while exporting", "page", pg.N, "planned", pr.pt.Total(), "now", t)
		rep.LastTotal = t
	}
	wall := false
	if !pr.pt.TotalUnknown && pg.Offset() > 0 {
		want := min(pg.Size, pr.pt.Total()-pg.Offset())
		wall = len(pg.Rows) < want && t > pg.Offset()+len(pg.Rows)
	}
	if t > 0 && pr.lastTotal > 0 && t < pr.lastTotal && !wall {
		bridged, ok := r.bridge(ctx, pr, pg)
		if !ok {
			pr.inDoubt += int64(pr.lastTotal - t)
			r.log.Warn("rows may be missing between two pages: new data came between their answers and the re-read did not prove the junction", "page", pg.N, "in_doubt", pr.lastTotal-t)
		} else if err := r.emit(pr, bridged); err != nil {
			return err
		}
	}
	rows, dups := pr.dedupe(pg.Rows)
	rep.Duplicates += int64(dups)
	pr.rows += int64(dups)
	if want := int64(pr.pt.Reach) - pr.rows; pr.pt.Reach < pr.pt.Total() && int64(len(rows)) > want {
		// The last page of a part that stops short of its total may
		// bring surplus rows (rows shifted by new data).
		rep.Cut += int64(len(rows)) - max(0, want)
		rows = rows[:max(0, want)]
	}
	if err := r.sink(pr, rows); err != nil {
		return fmt.Errorf("write page %d: %w", pg.N, err)
	}
	if t > 0 {
		pr.lastTotal = t
		pr.maxTotal = max(pr.maxTotal, t)
	}
	rep.Pages++
	for k, v := range pg.Intersect {
		if rep.Intersect == nil {
			rep.Intersect = make(map[string]string)
		}
		rep.Intersect[k] = v
	}
	rep.Repaired += pg.Repaired
	r.e.live.pages.Store(int64(rep.Pages))
	if wall {
		pr.wallAt = pg.Offset() + len(pg.Rows)
		return errWallHit
	}
	return nil
}

// emit writes rows the part has not written yet to every sink.
func (r *run) emit(pr *partRun, rows []serpstat.Row) error {
	rows, dups := pr.dedupe(rows)
	r.rep.Duplicates += int64(dups)
	if err := r.sink(pr, rows); err != nil {
		return fmt.Errorf("write re-read rows: %w", err)
	}
	return nil
}

// sink writes rows to every sink and counts them.
func (r *run) sink(pr *partRun, rows []serpstat.Row) error {
	if len(rows) == 0 {
		return nil
	}
	for _, s := range r.e.Sinks {
		if err := s.Write(rows); err != nil {
			return err
		}
	}
	rep := r.rep
	rep.Rows += int64(len(rows))
	rep.UnknownKeys = countUnknown(rep.UnknownKeys, rows)
	pr.rows += int64(len(rows))
	pr.last, pr.hasLast = rows[len(rows)-1], true
	if pr.keepPoints {
		for i := range rows {
			if len(pr.points) >= maxPointRows*len(r.dims) {
				pr.pointsCut = true
				break
			}
			pr.points = pager.AppendPoint(pr.points, r.m, r.dims, &rows[i])
		}
	}
	r.e.live.rows.Store(rep.Rows)
	return nil
}

// dedupe drops the rows the part already wrote, and a slice's rows written
// before it, and records the others.
func (pr *partRun) dedupe(rows []serpstat.Row) (kept []serpstat.Row, dups int) {
	if pr.seen == nil {
		pr.seen = make(map[uint64]struct{}, len(rows))
	}
	kept = rows
	for i := range rows {
		h := rowHash(&rows[i])
		_, dup := pr.seen[h]
		if _, held := pr.before[h]; held {
			pr.heldDups++
			dup = true
		}
		if dup {
			if dups == 0 {
				kept = append(make([]serpstat.Row, 0, len(rows)), rows[:i]...)
			}
			dups++
			continue
		}
		pr.seen[h] = struct{}{}
		if dups > 0 {
			kept = append(kept, rows[i])
		}
	}
	return kept, dups
}
