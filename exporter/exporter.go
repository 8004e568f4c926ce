// Package exporter runs an export job: it fetches pages with concurrent
// workers, puts them back in API order through a bounded reorder window,
// writes the rows to every sink in one pass, and reports what was done and
// what it cost.
package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Sink receives rows in API order. Close is the caller's to call.
type Sink interface {
	Write(rows []serpstat.Backlink) error
	Close() error
}

// Concurrency defaults.
const (
	// DefaultWorkers is how many requests are in flight when Workers is
	// fixed but not given; see Exporter.Workers.
	DefaultWorkers = 4
	// MaxWorkers caps the requests in flight, fixed or automatic.
	MaxWorkers = 64
	// maxAutoWorkers caps the automatic choice: at 10 requests/s it covers
	// answers that take 2.5 s.
	maxAutoWorkers = 32
	// workerHeadroom multiplies Little's law (rate × latency), for the
	// answers slower than the average.
	workerHeadroom = 1.25
)

// Exporter runs one query into its sinks. Set the fields, then call Run
// once. Not safe for concurrent use.
type Exporter struct {
	// Pager fetches the pages. Required.
	Pager *pager.Pager
	// Sinks get every row, in order.
	Sinks []Sink
	// Workers is the number of requests in flight. 0 means automatic:
	// Little's law on the measured latency and the current rate (rate ×
	// latency × 1.25, plus one), between 2 and 32, so a slow API still keeps
	// the rate busy without tuning.
	Workers int
	// Window is how many pages may be held or in flight at once; 0 means
	// twice the workers. It bounds memory, whatever the export's size.
	Window int
	// Partial lets a run whose full cost is over the budget export as many
	// whole pages as fit, and end without error. Without it, such a run
	// stops right after page 1.
	Partial bool
	// StartBalance is the account's balance before the run, when known
	// (getStats); 0 means unknown, and page 1's answer tells it.
	StartBalance int64
	// Checkpoint, when set, stores every page as it arrives and gives
	// back the pages an earlier run stored, which are not asked again.
	Checkpoint Checkpoint
	// Stop, when closed, stops sending: requests in flight finish and are
	// written (and checkpointed), and Run returns pager.ErrInterrupted.
	Stop <-chan struct{}
	// Logger gets progress; nil discards.
	Logger *slog.Logger

	prev map[serpstat.Backlink]struct{} // the last page's rows, for dedupe
}

// Stop reasons.
const (
	StopDone        = "done"
	StopWall        = "wall"
	StopBudget      = "budget"
	StopBalance     = "balance"
	StopMaxRows     = "max-rows"
	StopError       = "error"
	StopInterrupted = "interrupted"
)

// Report says what a run did.
type Report struct {
	Query    string
	Plan     pager.Plan
	Pages    int   // pages written, page 1 included
	Rows     int64 // rows written
	Complete bool  // every reachable row was written
	// Partial is set when the run stopped early on purpose (Partial mode)
	// and the outputs hold what was paid for.
	Partial     bool
	StopReason  string
	Unreachable int // matching rows past the wall, or refused as such

	CreditsEstimated int64 // what the export was planned to cost
	Credits          int64 // credits billed, counted from the answers
	// CreditsByBalance is the drop of the account's balance over the run,
	// from the answers' left_lines; -1 when the API did not tell. Others
	// spending from the same account show up here too.
	CreditsByBalance int64
	CreditsLeft      int64 // credits still needed to finish, when stopped early
	StartBalance     int64 // -1 unknown
	LeftLines        int64 // the balance after the last answer; -1 unknown
	Cut              int64 // surplus rows fetched for the last page and not written
	UnwrittenPages   int   // pages paid for but not written (after a gap)
	Resumed          int   // pages loaded from the checkpoint, not asked again
	Duplicates       int64 // rows dropped as already written by the page before
	LastTotal        int   // the total a later page reported, when it changed; 0 if never
	Retries          int64
	RateLimited      int64
	Workers          int // most requests in flight at once
	Elapsed          time.Duration
}

// Difference is credits billed less credits estimated: retries of answers
// that were billed, surplus rows of a last page, empty pages.
func (r *Report) Difference() int64 { return r.Credits - r.CreditsEstimated }

// RowsPerSecond is the rows written per second of the run.
func (r *Report) RowsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Rows) / r.Elapsed.Seconds()
}

type result struct {
	n    int
	page *pager.Page
	err  error
}

// Run exports every page. The error is nil for a complete export, for one
// stopped cleanly at the wall, and for a Partial one; a budget stop wraps
// pager.ErrBudgetExhausted and an interruption pager.ErrInterrupted. The
// report is filled in either way.
func (e *Exporter) Run(ctx context.Context) (*Report, error) {
	start := time.Now()
	if e.Logger == nil {
		e.Logger = slog.New(slog.DiscardHandler)
	}
	log := e.Logger
	p := e.Pager
	p.Stop = e.Stop
	rep := &Report{Query: p.Params.Query, LeftLines: -1, StartBalance: -1, CreditsByBalance: -1}
	if e.StartBalance > 0 {
		rep.StartBalance = e.StartBalance
	}
	e.prev = nil
	defer func() {
		st := p.Stats()
		rep.Retries, rep.RateLimited = st.Retries, st.RateLimited
		rep.Credits = p.Budget.Spent()
		rep.LeftLines = p.Budget.Balance()
		if rep.StartBalance >= 0 && rep.LeftLines >= 0 {
			rep.CreditsByBalance = rep.StartBalance - rep.LeftLines
		}
		rep.Elapsed = time.Since(start)
		if !rep.Complete && rep.CreditsEstimated > 0 {
			rep.CreditsLeft = max(0, rep.CreditsEstimated-rep.Rows-rep.Duplicates)
		}
	}()

	first, plan, err := e.first(ctx, rep)
	if err != nil {
		rep.StopReason = stopReason(err)
		return rep, err
	}
	rep.Plan = plan
	rep.Unreachable = plan.Unreachable
	rep.CreditsEstimated = plan.Cost()
	if rep.StartBalance < 0 && first.Summary.LeftLines > 0 && !first.Spooled {
		rep.StartBalance = int64(first.Summary.LeftLines) + first.Billed
	}
	log.Info("planned", "query", rep.Query, "total", plan.Total, "reachable", plan.Reachable, "pages", plan.Pages, "size", plan.Size, "credits", plan.Cost())
	if err := e.write(rep, first); err != nil {
		rep.StopReason = StopError
		return rep, err
	}
	if err := e.preflight(plan); err != nil {
		rep.StopReason = stopReason(err)
		return rep, err
	}
	if len(first.Rows) < min(plan.Size, plan.Reachable) {
		// Page 1 was cut to what the budget could pay for.
		return e.partialStop(rep, fmt.Errorf("page 2: %w: page 1 could only be asked for %d rows", p.Budget.Exhausted(), len(first.Rows)))
	}

	// Every result is for a page counted in f.outstanding, which the
	// dispatcher keeps within the window, so no send on results blocks.
	results := make(chan result, max(e.Window, 2*MaxWorkers)+1)
	f := &flow{wake: make(chan struct{}, 1)}
	halted := make(chan struct{})
	go e.dispatch(ctx, plan, f, halted, results)
	defer func() { rep.Workers = int(f.peak.Load()) }()
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
	unwritten := func(r result) {
		if r.err == nil && !r.page.Spooled {
			rep.UnwrittenPages++
		}
		consumed()
	}
	pending := make(map[int]result)
	next := 2
	for r := range results {
		if stopErr != nil {
			unwritten(r)
			continue
		}
		pending[r.n] = r
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			consumed()
			if r.err != nil {
				halt(r.err)
				break
			}
			if err := e.write(rep, r.page); err != nil {
				halt(err)
				break
			}
			next++
		}
		if stopErr != nil {
			for _, r := range pending {
				unwritten(r)
			}
			clear(pending)
		}
	}
	if stopErr == nil && next <= plan.Pages {
		stopErr = ctx.Err()
		if stopErr == nil {
			stopErr = errors.New("export ended before its last page")
		}
	}
	switch {
	case stopErr == nil:
		rep.Complete = true
		rep.StopReason = StopDone
		if plan.Unreachable > 0 {
			rep.StopReason = StopWall
		}
		if plan.MaxRows > 0 && plan.Reachable == plan.MaxRows && plan.Total > plan.MaxRows {
			rep.StopReason = StopMaxRows
		}
	case errors.Is(stopErr, pager.ErrWall):
		// The API drew its wall earlier than documented: what it refused
		// is out of reach, and what it served is complete.
		rep.StopReason = StopWall
		rep.Complete = true
		rep.Unreachable = plan.Total - int(rep.Rows+rep.Duplicates)
		stopErr = nil
	case errors.Is(stopErr, pager.ErrBudgetExhausted):
		_, stopErr = e.partialStop(rep, stopErr)
	default:
		rep.StopReason = stopReason(stopErr)
	}
	if rep.UnwrittenPages > 0 {
		if e.Checkpoint != nil {
			log.Info("pages after the stop were paid for and are kept in the checkpoint for a resume", "pages", rep.UnwrittenPages)
		} else {
			log.Warn("pages were paid for but could not be written after an earlier page failed", "pages", rep.UnwrittenPages)
		}
	}
	return rep, stopErr
}

// first returns page 1, from the checkpoint when it holds a usable one,
// and the plan it reveals.
func (e *Exporter) first(ctx context.Context, rep *Report) (*pager.Page, pager.Plan, error) {
	p := e.Pager
	if e.Checkpoint != nil {
		pg, err := e.Checkpoint.Load(1)
		if err != nil {
			return nil, pager.Plan{}, err
		}
		if pg != nil {
			p.Init()
			plan := pager.NewPlan(max(int(pg.Summary.Total), len(pg.Rows)), p.Params.Size, p.Wall, p.MaxRows)
			if usable(plan, pg) {
				return pg, plan, nil
			}
		}
	}
	pg, plan, err := p.First(ctx)
	if err != nil {
		return nil, plan, err
	}
	if e.Checkpoint != nil {
		if err := e.Checkpoint.Save(pg); err != nil {
			return nil, plan, err
		}
	}
	return pg, plan, nil
}

// usable tells whether a stored page is the one the plan asks for: a page
// 1 cut short by an earlier budget, for one, is asked again.
func usable(plan pager.Plan, pg *pager.Page) bool {
	page, size, _ := plan.Request(pg.N)
	return pg.Page == page && pg.Size == size
}

// preflight stops a run whose whole cost does not fit in what it may
// spend, unless Partial. Pages the checkpoint holds cost nothing now.
func (e *Exporter) preflight(plan pager.Plan) error {
	b := e.Pager.Budget
	spendable := b.Spendable()
	if spendable < 0 {
		return nil
	}
	stored := map[int]bool{}
	if e.Checkpoint != nil {
		for _, n := range e.Checkpoint.Stored() {
			stored[n] = true
		}
	}
	need := b.Spent()
	for n := 2; n <= plan.Pages; n++ {
		if !stored[n] {
			_, _, c := plan.Request(n)
			need += c
		}
	}
	if need <= spendable {
		return nil
	}
	if e.Partial {
		e.Logger.Info("partial export: only the whole pages that fit", "credits", spendable, "needed", need)
		return nil
	}
	return fmt.Errorf("the full export needs %d credits, more than the %d allowed: %w", plan.Cost(), spendable, b.Exhausted())
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

// limits returns the requests in flight and the pages outstanding allowed
// now: fixed, or from Little's law on the measured latency.
func (e *Exporter) limits() (workers, window int) {
	workers = e.Workers
	if workers <= 0 {
		rate := 1e6 // no throttle: the latency alone decides
		if e.Pager.Throttle != nil {
			rate = min(e.Pager.Throttle.Limit(), rate)
		}
		lat := e.Pager.Latency().Seconds()
		workers = int(math.Ceil(rate*lat*workerHeadroom)) + 1
		workers = min(max(workers, 2), maxAutoWorkers)
	}
	workers = min(workers, MaxWorkers)
	window = max(e.Window, 2*workers)
	return workers, window
}

// dispatch hands the pages to the workers in order: a page the checkpoint
// holds is loaded, any other is reserved and fetched. It closes results
// when every worker is done.
func (e *Exporter) dispatch(ctx context.Context, plan pager.Plan, f *flow, halted <-chan struct{}, results chan<- result) {
	var g errgroup.Group
	defer func() {
		_ = g.Wait()
		close(results)
	}()
	for n := 2; n <= plan.Pages; n++ {
		for {
			workers, window := e.limits()
			if f.inflight.Load() < int64(workers) && f.outstanding.Load() < int64(window) {
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
		f.outstanding.Add(1)
		select {
		case <-e.Stop:
			results <- result{n: n, err: fmt.Errorf("page %d: %w", n, pager.ErrInterrupted)}
			return
		default:
		}
		if e.Checkpoint != nil {
			pg, err := e.Checkpoint.Load(n)
			if err != nil {
				results <- result{n: n, err: err}
				return
			}
			if pg != nil && usable(plan, pg) {
				results <- result{n: n, page: pg}
				continue
			}
		}
		req, err := e.Pager.Reserve(plan, n)
		if err != nil {
			results <- result{n: n, err: err}
			return
		}
		if in := f.inflight.Add(1); in > f.peak.Load() {
			f.peak.Store(in)
		}
		// Workers report failures as results, never to the group: one
		// page's failure must not cancel requests in flight, which are
		// paid for. A page counts as done once the checkpoint holds it.
		g.Go(func() error {
			page, err := e.Pager.Fetch(ctx, req)
			if err == nil && e.Checkpoint != nil {
				err = e.Checkpoint.Save(page)
			}
			f.inflight.Add(-1)
			f.signal()
			results <- result{n: n, page: page, err: err}
			return nil
		})
	}
}

// partialStop ends a run the budget stopped: an error, or a partial
// result the user asked for.
func (e *Exporter) partialStop(rep *Report, err error) (*Report, error) {
	rep.StopReason = stopReason(err)
	if e.Partial {
		rep.Partial = true
		return rep, nil
	}
	return rep, err
}

// write writes a page's rows to every sink: the surplus of a last page cut,
// and rows the previous page already held dropped (new rows inserted
// above them while exporting push them across the page boundary).
func (e *Exporter) write(rep *Report, pg *pager.Page) error {
	if pg.Spooled {
		rep.Resumed++
	}
	if t := int(pg.Summary.Total); t > 0 && rep.Plan.Total > 0 && t != rep.Plan.Total && t != rep.LastTotal {
		e.Logger.Warn("the query's total changed while exporting", "page", pg.N, "planned", rep.Plan.Total, "now", t)
		rep.LastTotal = t
	}
	rows := pg.Rows
	if len(e.prev) > 0 {
		var kept []serpstat.Backlink // nil until a duplicate turns up
		for i, r := range rows {
			if _, dup := e.prev[r]; dup {
				if kept == nil {
					kept = append(make([]serpstat.Backlink, 0, len(rows)), rows[:i]...)
				}
				rep.Duplicates++
				continue
			}
			if kept != nil {
				kept = append(kept, r)
			}
		}
		if kept != nil {
			rows = kept
		}
	}
	e.prev = make(map[serpstat.Backlink]struct{}, len(pg.Rows))
	for _, r := range pg.Rows {
		e.prev[r] = struct{}{}
	}
	if want := int64(rep.Plan.Reachable) - rep.Rows - rep.Duplicates; rep.Plan.Pages > 0 && int64(len(rows)) > want {
		// The last page of a plan that stops short of the total may
		// bring surplus rows (see pager.Plan.Request).
		rep.Cut += int64(len(rows)) - max(0, want)
		rows = rows[:max(0, want)]
	}
	for _, s := range e.Sinks {
		if err := s.Write(rows); err != nil {
			return fmt.Errorf("write page %d: %w", pg.N, err)
		}
	}
	rep.Pages++
	rep.Rows += int64(len(rows))
	return nil
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
	}
	return StopError
}
