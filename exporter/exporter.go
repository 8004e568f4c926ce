// Package exporter runs an export job: it plans the query's pages with
// package pager (page 1, and past the wall the slices), buys them with
// concurrent workers, puts them back in API order through a bounded
// reorder window, writes the rows to every sink in one pass, proves that
// every row was written once while the data changes (live.go), keeps
// what it bought in a Checkpoint, and reports what was done and what it
// cost. Every request is reserved from the export's guard (the plan's
// credits, pager.Plan.Guard) inside the run's budget.
//
// The files follow the flow: run.go (one export from page 1 to the
// report), part.go (the pages of one part through the workers, in
// order), slices.go (a query cut into slices past the wall), live.go
// (rows new data shifted), unknown.go (a query whose total the API did
// not tell), checkpoint.go and spool.go (what is kept), journal.go (a
// spool's damaged journal and its repair), report.go.
package exporter

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Sink receives rows in API order: each a Value per column of the
// Pager's Method, then its unknown keys.
type Sink interface {
	Write(rows []serpstat.Row) error
}

// Concurrency defaults.
const (
	// MaxWorkers caps the requests in flight, fixed or automatic.
	MaxWorkers = 64
	// maxAutoWorkers caps the automatic choice: at 10 requests/s it covers
	// answers that take 1.9 s; more in flight only holds more pages in
	// memory when the rate is not the limit.
	maxAutoWorkers = 24
	// workerHeadroom multiplies Little's law (rate × latency), for the
	// answers slower than the average.
	workerHeadroom = 1.25
)

// Exporter runs one query into its sinks. Set the fields, then call Run
// once. Not safe for concurrent use (Snapshot aside).
type Exporter struct {
	// Pager pages the query. Required. It is shared, never changed.
	Pager *pager.Pager
	// Budget is the run's budget (--budget, --keep-balance, an account
	// shared with other processes): the export's guard reserves from it.
	// nil means none.
	Budget *pager.Budget
	// Sinks get every row, in order.
	Sinks []Sink
	// Workers is the number of requests in flight. 0 means automatic:
	// Little's law on the measured latency and the current rate (rate ×
	// latency × 1.25, plus one), between 2 and 24, so a slow API still keeps
	// the rate busy without tuning.
	Workers int
	// Window is how many pages may be held or in flight at once; 0 means
	// the workers plus as many again, at most 8 more. It bounds memory,
	// whatever the export's size.
	Window int
	// Partial lets a run whose full cost is over the budget export as many
	// whole pages as fit, and end without error. Without it, such a run
	// stops right after page 1.
	Partial bool
	// StartBalance is the account's balance before the run, when known
	// (getStats); 0 means unknown, and page 1's answer tells it.
	StartBalance int64
	// Checkpoint, when set, stores everything bought as it arrives and
	// gives back what an earlier run stored, which is not asked again.
	Checkpoint Checkpoint
	// Stop, when closed, stops sending: requests in flight finish and are
	// written (and checkpointed), and Run returns pager.ErrInterrupted.
	Stop <-chan struct{}
	// Logger gets progress; nil discards.
	Logger *slog.Logger

	// NoSlice turns slicing off: a query over the wall stops there.
	NoSlice bool
	// Now is the clock slicing reads today's date from; nil is time.Now.
	Now func() time.Time

	// Pool, when set, is the request slots this exporter shares with the
	// other exporters of its run: every request it sends holds one, so
	// the run's requests in flight stay within the pool's size. Order is
	// its place in the run: the lowest order waiting gets the next slot.
	Pool  *Pool
	Order int

	live live // what Snapshot reads while Run runs
}

// live is what Snapshot reads while Run runs.
type live struct {
	rows, pages, planned atomic.Int64
	damaged              atomic.Int64 // stored pages found damaged and bought again
	guard                atomic.Pointer[pager.Budget]
	prior                atomic.Int64 // credits earlier attempts spent (in the guard's Spent)
	planSet              atomic.Bool  // the guard's limit is the plan's (page 1 answered)
}

// Outstanding is what the export may still spend by its plan (what its
// guard allows beyond what it spent and holds for requests in flight),
// and what its plan costs in all in this attempt (spent, held and left).
// known is false until the plan is made (page 1 answered).
func (e *Exporter) Outstanding() (left, plan int64, known bool) {
	g := e.live.guard.Load()
	if g == nil || !e.live.planSet.Load() {
		return 0, 0, false
	}
	lim := g.Limit()
	if lim <= 0 {
		return 0, 0, false
	}
	spent, held := g.Spent(), g.Reserved()
	left = max(0, lim-spent-held)
	return left, max(0, spent-e.live.prior.Load()) + held + left, true
}

// Snapshot says how far the run is. Safe to call from any goroutine while
// Run runs.
func (e *Exporter) Snapshot() Snapshot {
	st := e.Pager.Stats()
	s := Snapshot{
		Rows: e.live.rows.Load(), Pages: e.live.pages.Load(), Planned: e.live.planned.Load(),
		Requests: st.Requests, Retries: st.Retries, RateLimited: st.RateLimited,
	}
	if e.Budget != nil {
		s.Credits, s.Budget = e.Budget.Spent(), e.Budget.Limit()
	}
	return s
}

// Run exports every row the plan reaches. The error is nil for a
// complete export, for one stopped cleanly at the wall, and for a Partial
// one; a budget stop wraps pager.ErrBudgetExhausted, an interruption
// pager.ErrInterrupted, rows slicing could not prove ErrRowsInDoubt and
// rows live data left unproven ErrUnproven. The report is filled in
// either way.
func (e *Exporter) Run(ctx context.Context) (*Report, error) {
	r := newRun(e)
	err := r.run(ctx)
	r.close(ctx)
	return r.rep, err
}
