package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// run is one run of an Exporter: what it spends from, what it planned and
// what it did. Only Run's goroutine changes it, but for the checkpoint's
// bookkeeping (saves), which the workers share under its lock.
type run struct {
	e     *Exporter
	p     *pager.Pager
	m     *serpstat.Method
	dims  []pager.Dim // the method's slicing dimensions
	log   *slog.Logger
	cp    Checkpoint
	rep   *Report
	start time.Time

	budget *pager.Budget // the run's
	guard  *pager.Budget // the export's, inside budget
	sess   pager.Session
	prior  int64 // credits earlier attempts committed
	plan   *pager.Plan

	f     *flow
	saves saves
}

// saves is the checkpoint's bookkeeping, shared by the workers.
type saves struct {
	mu      sync.Mutex
	bought  map[pageRef]bool // steps this run bought
	err     error            // the first failed checkpoint write
	unsaved []unsaved        // pages paid for that the checkpoint could not store
}

// unsaved is a page the checkpoint could not store, kept in memory until
// it is stored or the run ends.
type unsaved struct {
	part string
	page *pager.Page
}

func newRun(e *Exporter) *run {
	if e.Logger == nil {
		e.Logger = slog.New(slog.DiscardHandler)
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	p := e.Pager
	r := &run{e: e, p: p, m: p.Method(), dims: pager.Dims(p.Method()), log: e.Logger, cp: e.Checkpoint, start: time.Now(),
		budget: e.Budget, f: &flow{wake: make(chan struct{}, 1)}}
	if r.budget == nil {
		r.budget = pager.NewBudget(0)
	}
	r.rep = &Report{Method: r.m.Name, Query: p.Params().Query, LeftLines: -1, StartBalance: -1, CreditsByBalance: -1, Attempts: 1,
		Plan: PlanReport{Size: p.Size(), Wall: p.Wall()}}
	if e.StartBalance > 0 {
		r.rep.StartBalance = e.StartBalance
	}
	return r
}

// run exports the query: page 1, the plan, then its parts.
func (r *run) run(ctx context.Context) error {
	rep := r.rep
	// The checkpoint's record of what earlier attempts spent counts
	// against the budgets: they cap the export, not one attempt.
	var journal func(ctx context.Context, committed int64) error
	if r.cp != nil {
		prior, attempts, err := r.cp.LoadSpent(ctx)
		if err != nil {
			rep.StopReason = StopError
			return err
		}
		r.prior, rep.CreditsEarlier, rep.Attempts = prior, prior, attempts+1
		journal = func(ctx context.Context, committed int64) error {
			return r.cp.SaveSpent(ctx, committed, rep.Attempts)
		}
	}
	r.guard = r.budget.Guard(0, journal)
	r.guard.Carry(r.prior)
	r.e.live.prior.Store(r.prior)
	r.e.live.guard.Store(r.guard)
	r.sess = pager.Session{Budget: r.guard, Stop: r.e.Stop}
	return r.finish(ctx, r.export(ctx))
}

func (r *run) export(ctx context.Context) error {
	if !r.m.Paged() {
		return r.whole(ctx)
	}
	rep, p := r.rep, r.p
	first, err := r.firstPage(ctx)
	if err != nil {
		return err
	}
	if rep.StartBalance < 0 && first.Summary.LeftLines > 0 && !first.Spooled {
		rep.StartBalance = int64(first.Summary.LeftLines) + first.Billed
	}
	total := int(first.Summary.Total)
	if total < 0 && len(first.Rows) >= first.Size && len(first.Rows) > 0 {
		return r.runUnknown(ctx, first)
	}
	if total < 0 {
		// A short page 1 without a total is the whole query, all the same.
		rep.TotalUnknown = true
		total = len(first.Rows)
	}
	total = max(total, len(first.Rows))
	whole := newPartRun(pager.FirstPart(total, p.Size(), p.Wall(), len(first.Rows), p.MaxRows()), p.Params())
	whole.keepPoints = len(r.dims) > 0
	r.plan = &pager.Plan{Params: p.Params(), Total: total, Size: p.Size(), Wall: p.Wall(), MaxRows: p.MaxRows(),
		First: first.Step, FirstCost: first.Billed, Held: len(first.Rows), TotalUnknown: rep.TotalUnknown}
	rep.Plan.Total = total
	if err := r.write(ctx, whole, first); err != nil {
		return err
	}
	if p.ShouldSlice(total, r.e.NoSlice) {
		return r.sliced(ctx, whole, p)
	}
	r.plan.Parts = []pager.Part{whole.pt}
	r.plan.Unreachable = whole.pt.Unreachable()
	if total > p.Wall() {
		rep.NotSliced = notSliced(p, r.e.NoSlice)
	}
	if p.MaxRows() > 0 && p.MaxRows() <= p.Wall() {
		r.plan.Unreachable = 0 // the rows past the wall were not wanted
	}
	if err := r.setPlan(ctx); err != nil {
		return err
	}
	r.log.Info("planned", "query", rep.Query, "total", total, "reachable", r.plan.Reachable(), "requests", len(whole.pt.Steps)+1, "size", p.Size(), "credits", r.plan.Cost())
	if err := r.exportPart(ctx, whole); err != nil {
		return err
	}
	if whole.wallAt < 0 {
		return nil
	}
	return r.apiWall(ctx, whole)
}

// apiWall carries on after the API stopped serving the query's rows at
// whole.wallAt, before the wall planned with: the rows written so far are
// held, and the query is sliced under that wall, or what is past it is
// reported out of reach (an error: the export is not complete).
func (r *run) apiWall(ctx context.Context, whole *partRun) error {
	at, rep := whole.wallAt, r.rep
	rep.APIWall = at
	missing := whole.pt.Reach - int(whole.rows)
	r.log.Warn("the API stopped serving rows before the planned wall: a page came back short (or refused) while the total says more follow", "query", rep.Query, "at", at, "planned_wall", r.p.Wall(), "rows_missing", missing)
	pw := pager.New(withWall(r.p.Config(), at))
	if at > 0 && !whole.pointsCut && pw.ShouldSlice(whole.pt.Total(), r.e.NoSlice) {
		// Planned again under that wall; the first rows' requests were
		// paid for and are not bought again.
		return r.sliced(ctx, whole, pw)
	}
	rep.Unreachable += missing
	rep.SliceInDoubt += missing
	rep.NotSliced = notSliced(pw, r.e.NoSlice)
	if whole.pointsCut {
		rep.NotSliced = fmt.Sprintf("the API's wall came after the first %d rows, whose slicing points are all that is kept", maxPointRows)
	}
	return fmt.Errorf("%w: the API stopped serving rows at %d of %d: %d rows out of reach", ErrRowsInDoubt, at, whole.pt.Total(), missing)
}

// notSliced says why p's query past the wall is not sliced.
func notSliced(p *pager.Pager, noSlice bool) string {
	switch {
	case noSlice:
		return "--no-slice"
	case p.MaxRows() > 0 && p.MaxRows() <= p.Wall():
		return "--max-rows"
	}
	return "the method has no slicing field"
}

func withWall(c pager.Config, wall int) pager.Config {
	c.Wall = wall
	return c
}

// firstPage returns page 1 of the query: from the checkpoint when it
// holds one (the size it was asked with whatever it is: a page 1 cut to
// what a budget allowed is not bought again), or bought, cut to what the
// budgets allow.
func (r *run) firstPage(ctx context.Context) (*pager.Page, error) {
	p := r.p
	size := pager.FirstSize(p.Size(), p.MaxRows(), p.Wall())
	if r.cp != nil {
		stored := r.cp.Stored("")
		for i := len(stored) - 1; i >= 0; i-- {
			if st := stored[i]; st.Offset() == 0 {
				pg, err := r.load(ctx, "", st)
				if err != nil {
					return nil, err
				}
				if pg != nil {
					return pg, nil
				}
			}
		}
		pg, err := r.rereadRaw(ctx, "", pager.Step{Page: 1, Size: size})
		if err != nil || pg != nil {
			return pg, err
		}
	}
	if avail := r.budget.Available(); avail >= 0 && avail < int64(size) {
		if avail < 1 {
			_, err := r.budget.Reserve(ctx, 1)
			return nil, fmt.Errorf("page 1: %w", err)
		}
		size = int(avail)
	}
	r.guard.SetLimit(r.committed() + int64(size))
	pg, err := r.get(ctx, pager.Request{N: 1, Params: p.Params(), Step: pager.Step{Page: 1, Size: size}, Cost: int64(size)})
	if err != nil {
		return nil, r.keepUnexpected(ctx, "", err)
	}
	r.save(ctx, "", pg)
	return pg, nil
}

// allowRereads raises the guard by n credits for re-reads of rows new
// data shifted (live.go), which answers showed to be needed: never past
// the plan's ceiling (twice the query's total for the attempt).
func (r *run) allowRereads(n int64) { r.guard.Raise(n) }

// committed is what the guard has spent and reserved.
func (r *run) committed() int64 { return r.guard.Spent() + r.guard.Reserved() }

// setPlan sets the guard to what the plan allows from here, fills the
// report's plan, and stops a run whose cost does not fit the budget
// (unless Partial).
func (r *run) setPlan(ctx context.Context) error {
	plan, rep := r.plan, r.rep
	left := plan.CostLeft(r.stored)
	spent := r.guard.Spent() - r.prior
	r.guard.SetLimit(r.guard.Spent() + plan.Allowed(spent, left))
	r.guard.SetCeiling(r.guard.Spent() + plan.Ceiling(spent, left))
	rep.Guard = r.guard.Limit()
	rep.CreditsEstimated = plan.Cost()
	rep.Plan = PlanReport{Total: plan.Total, Reachable: plan.Reachable(), Pages: plan.Pages() + 1, Size: plan.Size, Wall: plan.Wall}
	rep.Unreachable = plan.Unreachable + plan.InDoubt
	rep.SliceInDoubt = plan.InDoubt
	rep.NoEffect = plan.NoEffect
	r.e.live.planned.Store(int64(plan.Reachable()))
	r.e.live.planSet.Store(true)
	spendable := r.budget.Spendable()
	if spendable < 0 || r.budget.Spent()+left <= spendable {
		return nil
	}
	if r.e.Partial {
		r.log.Info("partial export: only the whole pages that fit", "credits", spendable, "needed", r.budget.Spent()+left)
		return nil
	}
	return fmt.Errorf("the full export needs %d credits (%d more), more than the %d allowed: %w", r.guard.Spent()+left, left, spendable, r.budget.Exhausted())
}

// stored tells whether a part's step is bought and kept: in the
// checkpoint, or bought by this run.
func (r *run) stored(part string, st pager.Step) bool {
	r.saves.mu.Lock()
	bought := r.saves.bought[pageRef{part, st}]
	r.saves.mu.Unlock()
	if bought || r.cp == nil {
		return bought
	}
	for _, s := range r.cp.Stored(part) {
		if s == st {
			return true
		}
	}
	return false
}

// finish sets the report's outcome from the run's error.
func (r *run) finish(ctx context.Context, err error) error {
	rep := r.rep
	if saveErr := r.saveFailed(); saveErr != nil {
		rep.Unkept = r.retryUnsaved(ctx)
		if err == nil || errors.Is(err, pager.ErrBudgetExhausted) {
			err = fmt.Errorf("the checkpoint could not store every page: %w", saveErr)
		}
		if rep.Unkept > 0 {
			r.log.Error("pages paid for could not be kept in the checkpoint", "credits", rep.Unkept, "error", saveErr)
		}
	}
	if errors.Is(err, pager.ErrOverPlan) && !errors.Is(err, ErrRowsInDoubt) {
		// The API answered otherwise than planned, and the guard stopped
		// the export before it spent more: what is left is in doubt.
		left := int(max(0, int64(rep.Plan.Reachable)-rep.Rows))
		rep.SliceInDoubt += left
		rep.Unreachable += left
		err = fmt.Errorf("%w: %d rows: %w", ErrRowsInDoubt, left, err)
	}
	if err == nil && rep.InDoubt > 0 {
		err = fmt.Errorf("%w: %d rows that existed at the start may be missing", ErrUnproven, rep.InDoubt)
	}
	if err == nil && rep.SliceInDoubt > 0 {
		err = fmt.Errorf("%w: %d rows", ErrRowsInDoubt, rep.SliceInDoubt)
	}
	switch {
	case err == nil:
		rep.Complete = true
		rep.StopReason = StopDone
		if rep.Unreachable > 0 {
			rep.StopReason = StopWall
		}
		if mr := r.p.MaxRows(); mr > 0 && rep.Rows+rep.Duplicates >= int64(mr) && rep.Plan.Total > mr {
			rep.StopReason = StopMaxRows
		}
	case errors.Is(err, pager.ErrBudgetExhausted):
		rep.StopReason = stopReason(err)
		if r.e.Partial {
			rep.Partial = true
			err = nil
		}
	default:
		rep.StopReason = stopReason(err)
	}
	if rep.UnwrittenPages > 0 {
		if r.cp != nil {
			r.log.Info("pages after the stop were paid for and are kept in the checkpoint for a resume", "pages", rep.UnwrittenPages)
		} else {
			r.log.Warn("pages were paid for but could not be written after an earlier page failed", "pages", rep.UnwrittenPages)
		}
	}
	return err
}

// close fills in what the report says of the whole run, whatever its
// end, and records the credits spent.
func (r *run) close(ctx context.Context) {
	rep, p := r.rep, r.p
	st := p.Stats()
	rep.Requests, rep.Retries, rep.RateLimited = st.Requests, st.Retries, st.RateLimited
	if r.guard != nil {
		rep.Credits = r.guard.Spent() - r.prior
		if r.cp != nil {
			if err := r.cp.SaveSpent(context.WithoutCancel(ctx), r.guard.Spent(), rep.Attempts); err != nil {
				r.log.Warn("could not record the credits spent in the checkpoint", "error", err)
			}
		}
	}
	rep.CreditsInAll = rep.CreditsEarlier + rep.Credits
	rep.LeftLines = r.budget.Balance()
	if rep.StartBalance >= 0 && rep.LeftLines >= 0 {
		rep.CreditsByBalance = rep.StartBalance - rep.LeftLines
	}
	rep.Workers = int(r.f.peak.Load())
	rep.DamagedPages = int(r.e.live.damaged.Load())
	rep.Elapsed = time.Since(r.start)
	if !rep.Complete && r.plan != nil && !rep.TotalUnknown {
		rep.CreditsLeft = r.plan.CostLeft(r.stored)
	}
}

// save stores a page that arrived. When the checkpoint fails (disk full)
// the page is kept in memory and still written to the outputs; no more
// pages are dispatched (saveFailed), and the run ends with the error.
func (r *run) save(ctx context.Context, part string, pg *pager.Page) {
	r.saves.mu.Lock()
	if r.saves.bought == nil {
		r.saves.bought = map[pageRef]bool{}
	}
	r.saves.bought[pageRef{part, pg.Step}] = true
	r.saves.mu.Unlock()
	if r.cp == nil {
		return
	}
	err := r.cp.Save(ctx, part, pg)
	if err == nil {
		return
	}
	r.saves.mu.Lock()
	defer r.saves.mu.Unlock()
	if r.saves.err == nil {
		r.saves.err = err
		r.log.Error("the checkpoint could not store a page: sending no more requests", "page", pg.N, "error", err)
	}
	r.saves.unsaved = append(r.saves.unsaved, unsaved{part: part, page: pg})
}

func (r *run) saveFailed() error {
	r.saves.mu.Lock()
	defer r.saves.mu.Unlock()
	return r.saves.err
}

// retryUnsaved tries once more to store the pages the checkpoint could not
// (space may have been freed), and returns the credits of those it still
// cannot keep.
func (r *run) retryUnsaved(ctx context.Context) (lost int64) {
	r.saves.mu.Lock()
	pages := r.saves.unsaved
	r.saves.unsaved = nil
	r.saves.mu.Unlock()
	for _, u := range pages {
		if err := r.cp.Save(context.WithoutCancel(ctx), u.part, u.page); err != nil {
			lost += u.page.Billed
		}
	}
	return lost
}

// load reads a part's step from the checkpoint. A damaged page is
// logged, counted and treated as not stored, so it is bought again (that
// page only); any other error is returned.
func (r *run) load(ctx context.Context, part string, st pager.Step) (*pager.Page, error) {
	if r.cp == nil {
		return nil, nil
	}
	pg, err := r.cp.Load(ctx, part, st)
	if errors.Is(err, ErrPageDamaged) {
		r.e.live.damaged.Add(1)
		r.log.Warn("a stored page is damaged: not trusted, buying it again", "page", st.Page, "size", st.Size, "error", err)
		// The plan counted it as bought: the guard allows buying it again.
		r.guard.Raise(int64(st.Size))
		return nil, nil
	}
	return pg, err
}

// limits returns the requests in flight and the pages outstanding allowed
// now: fixed, or from Little's law on the measured latency.
func (r *run) limits() (workers, window int) {
	workers = r.e.Workers
	if workers <= 0 && r.e.Pool != nil {
		// The run's pool knows the latency of every query's requests.
		workers = r.e.Pool.Size()
	} else if workers <= 0 {
		rate := min(r.p.Rate(), 1e6) // no pace: the latency alone decides
		lat := r.p.Latency().Seconds()
		workers = int(math.Ceil(rate*lat*workerHeadroom)) + 1
		workers = min(max(workers, 2), maxAutoWorkers)
	}
	workers = min(workers, MaxWorkers)
	// Room to put pages back in order: as many again as in flight, but
	// no more than 8 pages beyond them, so memory stays flat when many
	// workers are in flight.
	window = max(r.e.Window, workers+min(workers, 8))
	return workers, window
}

// heldRows bounds the rows of pages answered and not yet written (waiting
// for the writer, or for an earlier page): while they are that many, no
// more pages are sent. When the sinks are slower than the API, more pages
// in flight would only hold more rows in memory.
const heldRows = 4000

// mayDispatch tells whether one more page of size rows may be sent:
// within the workers and the window, and while the pages held are fewer
// than heldRows' worth.
func (r *run) mayDispatch(size int) bool {
	f := r.f
	workers, window := r.limits()
	in, out := f.inflight.Load(), f.outstanding.Load()
	return in < int64(workers) && out < int64(window) && out-in < int64(max(2, heldRows/max(size, 1)))
}

func stopReason(err error) string {
	switch {
	case errors.Is(err, pager.ErrInterrupted):
		return StopInterrupted
	case errors.Is(err, pager.ErrBalanceFloor):
		return StopBalance
	case errors.Is(err, pager.ErrBudgetExhausted):
		return StopBudget
	case errors.Is(err, pager.ErrWall):
		return StopWall
	case errors.Is(err, ErrRowsInDoubt):
		return StopInDoubt
	case errors.Is(err, ErrUnproven):
		return StopUnproven
	}
	return StopError
}
