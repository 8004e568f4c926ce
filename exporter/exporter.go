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

// DefaultWorkers is how many requests are in flight unless told.
const DefaultWorkers = 4

// Exporter runs one query into its sinks. Set the fields, then call Run
// once. Not safe for concurrent use.
type Exporter struct {
	// Pager fetches the pages. Required.
	Pager *pager.Pager
	// Sinks get every row, in order.
	Sinks []Sink
	// Workers is the number of requests in flight; 0 means DefaultWorkers.
	Workers int
	// Window is how many pages may be held or in flight at once; 0 means
	// twice Workers. It bounds memory, whatever the export's size.
	Window int
	// Partial lets a run whose full cost is over the budget export as many
	// whole pages as fit, and end without error. Without it, such a run
	// stops right after page 1.
	Partial bool
	// StartBalance is the account's balance before the run, when known
	// (getStats); 0 means unknown, and page 1's answer tells it.
	StartBalance int64
	// Logger gets progress; nil discards.
	Logger *slog.Logger
}

// Stop reasons.
const (
	StopDone    = "done"
	StopWall    = "wall"
	StopBudget  = "budget"
	StopBalance = "balance"
	StopMaxRows = "max-rows"
	StopError   = "error"
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
	Retries          int64
	RateLimited      int64
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

// Run exports every page. The error is nil for a complete export and for
// one stopped cleanly at the wall; a budget stop wraps
// pager.ErrBudgetExhausted. The report is filled in either way.
func (e *Exporter) Run(ctx context.Context) (*Report, error) {
	start := time.Now()
	log := e.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	workers := e.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	window := e.Window
	if window < workers {
		window = 2 * workers
	}
	p := e.Pager
	rep := &Report{Query: p.Params.Query, LeftLines: -1, StartBalance: -1, CreditsByBalance: -1}
	if e.StartBalance > 0 {
		rep.StartBalance = e.StartBalance
	}
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
			rep.CreditsLeft = max(0, rep.CreditsEstimated-rep.Rows)
		}
	}()

	first, plan, err := p.First(ctx)
	if err != nil {
		rep.StopReason = stopReason(err)
		return rep, err
	}
	rep.Plan = plan
	rep.Unreachable = plan.Unreachable
	rep.CreditsEstimated = plan.Cost()
	if rep.StartBalance < 0 && first.Summary.LeftLines > 0 {
		rep.StartBalance = int64(first.Summary.LeftLines) + first.Billed
	}
	log.Info("planned", "query", rep.Query, "total", plan.Total, "reachable", plan.Reachable, "pages", plan.Pages, "size", plan.Size, "credits", plan.Cost())
	if err := e.write(rep, first); err != nil {
		rep.StopReason = StopError
		return rep, err
	}
	if spendable := p.Budget.Spendable(); spendable >= 0 && plan.Cost() > spendable {
		// Pre-flight: the whole export does not fit.
		if !e.Partial {
			err := fmt.Errorf("the full export needs %d credits, more than the %d allowed: %w", plan.Cost(), spendable, p.Budget.Exhausted())
			rep.StopReason = stopReason(err)
			return rep, err
		}
		log.Info("partial export: only the whole pages that fit in the budget", "credits", spendable, "needed", plan.Cost())
	}
	if len(first.Rows) < min(plan.Size, plan.Reachable) {
		// Page 1 was cut to what the budget could pay for.
		return e.partialStop(rep, fmt.Errorf("page 2: %w: page 1 could only be asked for %d rows", p.Budget.Exhausted(), len(first.Rows)))
	}

	results := make(chan result, window+1)
	slots := make(chan struct{}, window)
	stop := make(chan struct{})
	go e.dispatch(ctx, plan, workers, slots, stop, results)

	var stopErr error
	halt := func(err error) {
		if stopErr == nil {
			stopErr = err
			close(stop)
		}
	}
	pending := make(map[int]result)
	next := 2
	for r := range results {
		if stopErr != nil {
			if r.err == nil {
				rep.UnwrittenPages++
			}
			<-slots
			continue
		}
		pending[r.n] = r
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			<-slots
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
				if r.err == nil {
					rep.UnwrittenPages++
				}
				<-slots
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
		rep.Unreachable = plan.Total - int(rep.Rows)
		stopErr = nil
	case errors.Is(stopErr, pager.ErrBudgetExhausted):
		rep.UnwrittenPages += len(pending)
		_, stopErr = e.partialStop(rep, stopErr)
	default:
		rep.StopReason = stopReason(stopErr)
	}
	if rep.UnwrittenPages > 0 {
		log.Warn("pages were paid for but could not be written after an earlier page failed", "pages", rep.UnwrittenPages)
	}
	return rep, stopErr
}

// dispatch reserves pages in order and hands them to the workers. It closes
// results when every worker is done.
func (e *Exporter) dispatch(ctx context.Context, plan pager.Plan, workers int, slots chan struct{}, stop <-chan struct{}, results chan<- result) {
	var g errgroup.Group
	g.SetLimit(workers)
	defer func() {
		_ = g.Wait()
		close(results)
	}()
	for n := 2; n <= plan.Pages; n++ {
		select {
		case slots <- struct{}{}:
		case <-stop:
			return
		case <-ctx.Done():
			return
		}
		req, err := e.Pager.Reserve(plan, n)
		if err != nil {
			results <- result{n: n, err: err} // a slot is held for it
			return
		}
		// Workers report failures as results, never to the group: one
		// page's failure must not cancel requests in flight, which are
		// paid for.
		g.Go(func() error {
			page, err := e.Pager.Fetch(ctx, req)
			results <- result{n: n, page: page, err: err} // a slot is held for it
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

func (e *Exporter) write(rep *Report, pg *pager.Page) error {
	rows := pg.Rows
	if want := int64(rep.Plan.Reachable) - rep.Rows; rep.Plan.Pages > 0 && int64(len(rows)) > want {
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
	case errors.Is(err, pager.ErrBalanceFloor):
		return StopBalance
	case errors.Is(err, pager.ErrBudgetExhausted):
		return StopBudget
	case errors.Is(err, pager.ErrWall):
		return StopWall
	}
	return StopError
}
