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
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Sink receives rows in API order: each a Value per column of the
// Pager's Method, then its unknown keys. Close is the caller's to call.
type Sink interface {
	Write(rows []serpstat.Row) error
	Close() error
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
// once. Not safe for concurrent use.
type Exporter struct {
	// Pager fetches the pages. Required.
	Pager *pager.Pager
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
	// Checkpoint, when set, stores every page as it arrives and gives
	// back the pages an earlier run stored, which are not asked again.
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

	cur  part // the part being written
	live live // what progress displays read while Run runs

	savedMu  sync.Mutex
	saved    map[int]bool // pages of the unsliced plan this run stored
	cutFirst bool         // page 1 was cut to the budget: bought again
	saveErr  error        // the first failed checkpoint write
	unsaved  []unsaved    // pages paid for that the checkpoint could not store
}

// unsaved is a page the checkpoint could not store, kept in memory until
// it is stored or the run ends.
type unsaved struct {
	cp   Checkpoint
	page *pager.Page
}

// save stores a page that arrived. When the checkpoint fails (disk full)
// the page is kept in memory and still written to the outputs; no more
// pages are dispatched (saveFailed), and the run ends with the error.
func (e *Exporter) save(cp Checkpoint, pg *pager.Page) {
	err := cp.Save(pg)
	e.savedMu.Lock()
	defer e.savedMu.Unlock()
	if err != nil {
		if e.saveErr == nil {
			e.saveErr = err
			e.Logger.Error("the checkpoint could not store a page: sending no more requests", "page", pg.N, "error", err)
		}
		e.unsaved = append(e.unsaved, unsaved{cp: cp, page: pg})
		return
	}
	if cp == e.Checkpoint {
		if e.saved == nil {
			e.saved = map[int]bool{}
		}
		e.saved[pg.N] = true
	}
}

func (e *Exporter) saveFailed() error {
	e.savedMu.Lock()
	defer e.savedMu.Unlock()
	return e.saveErr
}

// retryUnsaved tries once more to store the pages the checkpoint could not
// (space may have been freed), and returns the credits of those it still
// cannot keep.
func (e *Exporter) retryUnsaved() (lost int64) {
	e.savedMu.Lock()
	pages := e.unsaved
	e.unsaved = nil
	e.savedMu.Unlock()
	for _, u := range pages {
		if err := u.cp.Save(u.page); err != nil {
			lost += u.page.Billed
			continue
		}
		e.markSaved(u.cp, u.page.N)
	}
	return lost
}

// markSaved records that page n of the unsliced plan is in the checkpoint.
// It takes savedMu.
func (e *Exporter) markSaved(cp Checkpoint, n int) {
	if cp != e.Checkpoint {
		return // a slice's
	}
	e.savedMu.Lock()
	defer e.savedMu.Unlock()
	if e.saved == nil {
		e.saved = map[int]bool{}
	}
	e.saved[n] = true
}

// creditsLeft is what the pages of plan that are neither stored nor
// written still cost: what a resume has to pay for.
func (e *Exporter) creditsLeft(plan pager.Plan) int64 {
	stored := map[int]bool{}
	for _, n := range e.Checkpoint.Stored() {
		stored[n] = true
	}
	e.savedMu.Lock()
	defer e.savedMu.Unlock()
	var left int64
	for n := 1; n <= plan.Pages; n++ {
		if n == 1 && e.cutFirst || !stored[n] && !e.saved[n] {
			_, _, c := plan.Request(n)
			left += c
		}
	}
	return left
}

// live is what Snapshot reads while Run runs.
type live struct {
	rows, pages, planned atomic.Int64
	damaged              atomic.Int64 // stored pages found damaged and bought again
}

// Snapshot is how far a run is, for a progress display.
type Snapshot struct {
	Rows, Pages int64 // written so far
	Planned     int64 // rows the run will write; 0 before page 1
	Credits     int64 // billed so far
	Budget      int64 // the cap; 0 for none
	Requests    int64 // requests sent, retries included
	Retries     int64
	RateLimited int64
}

// Snapshot says how far the run is. Safe to call from any goroutine while
// Run runs.
func (e *Exporter) Snapshot() Snapshot {
	st := e.Pager.Stats()
	return Snapshot{
		Rows: e.live.rows.Load(), Pages: e.live.pages.Load(), Planned: e.live.planned.Load(),
		Credits: e.Pager.Budget.Spent(), Budget: e.Pager.Budget.Limit(),
		Requests: st.Requests, Retries: st.Retries, RateLimited: st.RateLimited,
	}
}

// part is the query or the slice being written: its plan and what was
// written of it.
type part struct {
	plan pager.Plan
	rows int64 // rows written (or cut, or dropped as duplicates) of this part

	// Live data (see live.go): the rows written, as hashes; the last row
	// written; the total the last page reported and the largest seen;
	// rows whose export could not be proven.
	seen      map[uint64]struct{}
	last      serpstat.Row
	hasLast   bool
	lastTotal int
	maxTotal  int
	inDoubt   int64
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
	// StopInDoubt: every slice was exported, but the slices did not add up
	// to the query's total (Report.InDoubt).
	StopInDoubt  = "rows-in-doubt"
	StopUnproven = "unproven" // see ErrUnproven
)

// ErrRowsInDoubt is returned, after every slice was exported, when the
// slices' totals did not add up to their parents': the API applied a
// slicing filter otherwise than documented (or the data changed), so rows
// may be missing or repeated. The rows exported are written; the run is
// not a success.
var ErrRowsInDoubt = errors.New("the slices did not add up to the query's total: rows may be missing or repeated")

// Report says what a run did.
type Report struct {
	// Method is the name of the method exported ("new-backlinks").
	Method   string
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
	Credits          int64 // credits billed by this run, counted from the answers
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
	Duplicates       int64 // rows dropped as already written (new rows pushed them across a page boundary)
	Repaired         int   // invalid UTF-8 sequences from the API, written as U+FFFD
	LastTotal        int   // the total a later page reported, when it changed; 0 if never
	Retries          int64
	RateLimited      int64
	Workers          int // most requests in flight at once
	Elapsed          time.Duration

	// CreditsEarlier is what earlier attempts of the same export spent, as
	// its checkpoint recorded (requests that may have been billed when a
	// run was killed included); CreditsInAll is the export's spend in all,
	// earlier attempts and this one: what --budget caps. Attempts counts
	// the runs, this one included (1 without a checkpoint's record).
	CreditsEarlier int64
	CreditsInAll   int64
	Attempts       int
	// DamagedPages counts stored pages that failed their checks (cut
	// short, edited, another page's content) and were bought again.
	DamagedPages int
	// Reread counts rows read again to repair shifts made by new data;
	// InDoubt counts rows that existed at the start and whose export
	// could not be proven (Run then fails with ErrUnproven).
	Reread  int64
	InDoubt int64
	// Unkept is the credits spent on pages the checkpoint could not
	// store (disk full): they were written to the outputs if the run got
	// that far, but a resume pays for them again.
	Unkept int64

	// Sliced is set when the query was cut into slices to get past the
	// wall; Slices lists them in export order.
	Sliced       bool
	Slices       []SliceReport
	Probes       int   // requests sent to plan the slices
	ProbeCredits int64 // what they cost
	// SliceInDoubt is the rows by which slices did not add up to their
	// parent's total (see ErrRowsInDoubt); they are counted in Unreachable
	// too.
	SliceInDoubt int
	// TotalUnknown is set when the API did not tell the query's total
	// (missing or null): pages were asked one after another until a short
	// one, and Plan.Total is the rows found.
	TotalUnknown bool

	// UnknownKeys counts, for each row key no column of the method knows,
	// the rows written that held it (their "extra" column); nil when none.
	UnknownKeys map[string]int64 `json:",omitempty"`
	// Intersect names the domain each links_count_N column counts for, as
	// the answers said (getIntersect); nil otherwise.
	Intersect map[string]string `json:",omitempty"`
}

// SliceReport is one slice of a sliced export.
type SliceReport struct {
	Label   string
	Planned int   // total the planning learned (or derived)
	Total   int   // total the slice's page 1 reported
	Rows    int64 // rows written
	// Unreachable is the slice's rows past the wall (nothing split it).
	Unreachable int
}

// SliceSum is the slices' totals added up, to compare with the unsliced
// total.
func (r *Report) SliceSum() int {
	n := 0
	for _, s := range r.Slices {
		n += s.Total
	}
	return n
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
	if e.Now == nil {
		e.Now = time.Now
	}
	p := e.Pager
	p.Init()
	p.Stop = e.Stop
	rep := &Report{Method: p.Method.Name, Query: p.Params.Query, LeftLines: -1, StartBalance: -1, CreditsByBalance: -1}
	if e.StartBalance > 0 {
		rep.StartBalance = e.StartBalance
	}
	f := &flow{wake: make(chan struct{}, 1)}
	// The checkpoint's record of what earlier attempts spent counts
	// against the budget: --budget caps the export, not one attempt.
	ledger, _ := e.Checkpoint.(Ledger)
	rep.Attempts = 1
	if ledger != nil {
		prior, attempts, err := ledger.LoadSpent()
		if err != nil {
			rep.StopReason = StopError
			return rep, err
		}
		p.Budget.Carry(prior)
		rep.CreditsEarlier, rep.Attempts = prior, attempts+1
	}
	// The budget may be shared with other runs (several queries): this
	// run's credits are what it adds to it.
	spentBefore := p.Budget.Spent()
	if ledger != nil {
		base := spentBefore + p.Budget.Reserved()
		prior, attempts := rep.CreditsEarlier, rep.Attempts
		p.Budget.SetJournal(func(committed int64) error {
			return ledger.SaveSpent(prior+committed-base, attempts)
		})
	}
	defer func() {
		st := p.Stats()
		rep.Retries, rep.RateLimited = st.Retries, st.RateLimited
		rep.Credits = p.Budget.Spent() - spentBefore
		rep.CreditsInAll = rep.CreditsEarlier + rep.Credits
		if ledger != nil {
			p.Budget.SetJournal(nil)
			if err := ledger.SaveSpent(rep.CreditsInAll, rep.Attempts); err != nil {
				e.Logger.Warn("could not record the credits spent in the checkpoint", "error", err)
			}
		}
		rep.LeftLines = p.Budget.Balance()
		if rep.StartBalance >= 0 && rep.LeftLines >= 0 {
			rep.CreditsByBalance = rep.StartBalance - rep.LeftLines
		}
		rep.Workers = int(f.peak.Load())
		rep.DamagedPages = int(e.live.damaged.Load())
		rep.Elapsed = time.Since(start)
		if !rep.Complete && rep.CreditsEstimated > 0 {
			rep.CreditsLeft = max(0, rep.CreditsEstimated-rep.Rows-rep.Duplicates-rep.Cut)
			if e.Checkpoint != nil && !rep.Sliced && rep.Plan.Pages > 0 {
				// Pages stored but not written (after a stop) are not
				// paid for again either.
				rep.CreditsLeft = e.creditsLeft(rep.Plan)
			}
		}
	}()

	first, plan, err := e.first(ctx, e.Checkpoint, p.Params, p.MaxRows)
	if err != nil {
		rep.StopReason = stopReason(err)
		return rep, err
	}
	rep.Plan = plan
	rep.Unreachable = plan.Unreachable
	// Page 1 cut to what the budget could pay for is bought again.
	e.cutFirst = firstCut(plan, first)
	e.live.planned.Store(int64(plan.Reachable))
	if p.MaxRows > 0 && p.MaxRows <= plan.Wall {
		rep.Unreachable = 0 // the rows past the wall were not wanted
	}
	rep.CreditsEstimated = plan.Cost()
	if rep.StartBalance < 0 && first.Summary.LeftLines > 0 && !first.Spooled {
		rep.StartBalance = int64(first.Summary.LeftLines) + first.Billed
	}
	if plan.TotalUnknown {
		return rep, e.finish(rep, e.runUnknown(ctx, rep, first, plan))
	}
	// A short page 1 without a total is the whole query, all the same.
	rep.TotalUnknown = first.Summary.Total < 0
	if p.ShouldSlice(plan, e.NoSlice) {
		err := e.runSliced(ctx, rep, f, plan, first)
		return rep, e.finish(rep, err)
	}
	e.Logger.Info("planned", "query", rep.Query, "total", plan.Total, "reachable", plan.Reachable, "pages", plan.Pages, "size", plan.Size, "credits", plan.Cost())
	e.cur = part{plan: plan}
	if err := e.write(ctx, rep, first); err != nil {
		return rep, e.finish(rep, err)
	}
	if err := e.preflight(plan.Cost(), e.need(plan, e.Checkpoint)); err != nil {
		rep.StopReason = stopReason(err)
		return rep, err
	}
	return rep, e.finish(rep, e.rest(ctx, rep, f, first, plan, e.Checkpoint))
}

// rest exports pages 2.. of a plan whose page 1 is written.
func (e *Exporter) rest(ctx context.Context, rep *Report, f *flow, first *pager.Page, plan pager.Plan, cp Checkpoint) error {
	if err := e.restPages(ctx, rep, f, first, plan, cp); err != nil {
		return err
	}
	return e.endPart(ctx, rep)
}

// restPages exports pages 2.. of a plan whose page 1 is written.
func (e *Exporter) restPages(ctx context.Context, rep *Report, f *flow, first *pager.Page, plan pager.Plan, cp Checkpoint) error {
	if firstCut(plan, first) {
		// Page 1 was cut to what the budget could pay for.
		return fmt.Errorf("page 2: %w: page 1 could only be asked for %d rows", e.Pager.Budget.Exhausted(), len(first.Rows))
	}
	if plan.Pages < 2 {
		return nil
	}
	// Every result is for a page counted in f.outstanding, which the
	// dispatcher keeps within the window, so no send on results blocks.
	results := make(chan result, max(e.Window, 2*MaxWorkers)+1)
	halted := make(chan struct{})
	go e.dispatch(ctx, plan, cp, f, halted, results)
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
			if err := e.write(ctx, rep, r.page); err != nil {
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
	if errors.Is(stopErr, pager.ErrWall) {
		// The API drew its wall earlier than documented: what it refused
		// is out of reach, and what it served is complete.
		unreach := plan.Total - int(e.cur.rows)
		rep.Unreachable += unreach - plan.Unreachable
		e.Logger.Warn("the API refused a page as past its wall earlier than planned", "page", next, "unreachable", unreach)
		return nil
	}
	return stopErr
}

// finish sets the report's outcome from the run's error.
func (e *Exporter) finish(rep *Report, err error) error {
	if saveErr := e.saveFailed(); saveErr != nil {
		rep.Unkept = e.retryUnsaved()
		if err == nil || errors.Is(err, pager.ErrBudgetExhausted) {
			err = fmt.Errorf("the checkpoint could not store every page: %w", saveErr)
		}
		if rep.Unkept > 0 {
			e.Logger.Error("pages paid for could not be kept in the checkpoint", "credits", rep.Unkept, "error", saveErr)
		}
	}
	if err == nil && rep.InDoubt > 0 {
		err = fmt.Errorf("%w: %d rows that existed at the start may be missing", ErrUnproven, rep.InDoubt)
	}
	switch {
	case err == nil:
		rep.Complete = true
		rep.StopReason = StopDone
		if rep.Unreachable > 0 {
			rep.StopReason = StopWall
		}
		if mr := e.Pager.MaxRows; mr > 0 && rep.Rows+rep.Duplicates >= int64(mr) && rep.Plan.Total > mr {
			rep.StopReason = StopMaxRows
		}
	case errors.Is(err, pager.ErrBudgetExhausted):
		rep.StopReason = stopReason(err)
		if e.Partial {
			rep.Partial = true
			err = nil
		}
	default:
		rep.StopReason = stopReason(err)
	}
	if rep.UnwrittenPages > 0 {
		if e.Checkpoint != nil {
			e.Logger.Info("pages after the stop were paid for and are kept in the checkpoint for a resume", "pages", rep.UnwrittenPages)
		} else {
			e.Logger.Warn("pages were paid for but could not be written after an earlier page failed", "pages", rep.UnwrittenPages)
		}
	}
	return err
}

// first returns page 1 of params, from the checkpoint when it holds a
// usable one, and the plan it reveals.
func (e *Exporter) first(ctx context.Context, cp Checkpoint, params serpstat.Params, maxRows int) (*pager.Page, pager.Plan, error) {
	p := e.Pager
	if cp != nil {
		pg, err := e.load(cp, 1)
		if err != nil {
			return nil, pager.Plan{}, err
		}
		if pg != nil {
			if plan := p.PlanFor(params, pg, maxRows); usable(plan, pg) {
				return pg, plan, nil
			}
		}
		if pg == nil {
			pg, err := rereadRaw(p.Method, cp, 1, nil)
			if err != nil {
				return nil, pager.Plan{}, err
			}
			if pg != nil {
				return pg, p.PlanFor(params, pg, maxRows), nil
			}
		}
	}
	pg, plan, err := p.FirstFor(ctx, params, maxRows)
	if err != nil {
		return nil, plan, keepUnexpected(cp, err)
	}
	if cp != nil {
		e.save(cp, pg)
	}
	return pg, plan, nil
}

// load reads page n from the checkpoint. A damaged page is logged,
// counted and treated as not stored, so it is bought again (that page
// only); any other error is returned.
func (e *Exporter) load(cp Checkpoint, n int) (*pager.Page, error) {
	pg, err := cp.Load(n)
	if errors.Is(err, ErrPageDamaged) {
		e.live.damaged.Add(1)
		e.Logger.Warn("a stored page is damaged: not trusted, buying it again", "page", n, "error", err)
		return nil, nil
	}
	return pg, err
}

// firstCut tells whether page 1 was asked for fewer rows than its plan
// asks of it: it was cut to what the budget could pay for. (What the
// request asked, not the rows it brought: a total that overstates the
// rows, as an API applying a filter otherwise than documented may answer,
// is not a budget stop.)
func firstCut(plan pager.Plan, first *pager.Page) bool {
	_, size, _ := plan.Request(1)
	return first.Size < min(size, plan.Reachable)
}

// usable tells whether a stored page is the one the plan asks for: a page
// 1 cut short by an earlier budget, for one, is asked again.
func usable(plan pager.Plan, pg *pager.Page) bool {
	page, size, _ := plan.Request(pg.N)
	return pg.Page == page && pg.Size == size
}

// need is what the pages 2.. of plan not in cp will cost.
func (e *Exporter) need(plan pager.Plan, cp Checkpoint) int64 {
	stored := map[int]bool{}
	if cp != nil {
		for _, n := range cp.Stored() {
			stored[n] = true
		}
	}
	var need int64
	for n := 2; n <= plan.Pages; n++ {
		if !stored[n] {
			_, _, c := plan.Request(n)
			need += c
		}
	}
	return need
}

// preflight stops a run whose cost does not fit in what it may spend,
// unless Partial: need is what is still to be paid, full the whole cost.
func (e *Exporter) preflight(full, need int64) error {
	b := e.Pager.Budget
	spendable := b.Spendable()
	if spendable < 0 || b.Spent()+need <= spendable {
		return nil
	}
	if e.Partial {
		e.Logger.Info("partial export: only the whole pages that fit", "credits", spendable, "needed", b.Spent()+need)
		return nil
	}
	return fmt.Errorf("the full export needs %d credits, more than the %d allowed: %w", full, spendable, b.Exhausted())
}

// runSliced cuts a query over the wall into slices and exports each.
func (e *Exporter) runSliced(ctx context.Context, rep *Report, f *flow, plan pager.Plan, first *pager.Page) error {
	p := e.Pager
	rep.Sliced = true
	sp, err := e.planSlices(ctx, plan)
	if sp != nil {
		rep.Probes, rep.ProbeCredits = sp.Probes, sp.ProbeCredits
	}
	if err != nil {
		return err
	}
	var reach, unreach int
	var need int64
	for _, s := range sp.Slices {
		r := min(s.Total, p.Wall)
		reach += r
		unreach += s.Total - r
	}
	if p.MaxRows > 0 {
		reach = min(reach, p.MaxRows)
	}
	need = int64(reach)
	rep.Plan.Reachable = reach
	e.live.planned.Store(int64(reach))
	rep.Unreachable = unreach + sp.InDoubt
	rep.SliceInDoubt = sp.InDoubt
	// The probes that fetched a slice's page 1 at full size are part of
	// the rows; the others, and the unsliced page 1, are the overhead.
	overhead := rep.ProbeCredits + first.Billed
	for _, s := range sp.Slices {
		if s.First != nil {
			overhead -= s.First.Billed
			need -= s.First.Billed
		}
	}
	rep.CreditsEstimated = int64(reach) + overhead
	e.Logger.Info("sliced the query to get past the wall", "query", rep.Query, "total", plan.Total, "slices", len(sp.Slices), "probes", sp.Probes, "probe_credits", sp.ProbeCredits, "reachable", reach)
	if err := e.preflight(rep.CreditsEstimated, need-e.storedRows(sp)); err != nil {
		return err
	}
	for _, s := range sp.Slices {
		if err := e.exportSlice(ctx, rep, f, s); err != nil {
			return err
		}
		if p.MaxRows > 0 && rep.Rows+rep.Duplicates >= int64(p.MaxRows) {
			break
		}
	}
	if sp.InDoubt > 0 {
		e.Logger.Error("the slices did not add up to the query's total: the export is not complete", "query", rep.Query, "total", plan.Total, "sum_of_slices", sp.Sum(), "rows_in_doubt", sp.InDoubt)
		return fmt.Errorf("%d rows: %w", sp.InDoubt, ErrRowsInDoubt)
	}
	return nil
}

// storedRows is what the checkpoint already holds of the slices.
func (e *Exporter) storedRows(sp *pager.SlicePlan) int64 {
	sc, ok := e.Checkpoint.(SliceCheckpoint)
	if !ok {
		return 0
	}
	var n int64
	for _, s := range sp.Slices {
		n += int64(len(sc.Sub(s.Key(e.Pager.Method)).Stored())) * int64(e.Pager.Params.Size)
	}
	return n
}

// planSlices plans the slices, or reads the plan an earlier run of this
// export stored.
func (e *Exporter) planSlices(ctx context.Context, plan pager.Plan) (*pager.SlicePlan, error) {
	sc, _ := e.Checkpoint.(SliceCheckpoint)
	if sc != nil {
		var stored pager.SlicePlan
		// "slice-plan", not "slices": the plans of versions that sliced
		// with undocumented filters are not read (they re-plan).
		if ok, err := sc.LoadMeta("slice-plan", &stored); err != nil || ok {
			// Planned and paid for by an earlier run.
			stored.Probes, stored.ProbeCredits = 0, 0
			return &stored, err
		}
	}
	var cache pager.ProbeCache
	if sc != nil {
		cache = sc
	}
	sp, err := e.Pager.PlanSlices(ctx, plan.Total, e.Now(), cache, false)
	if err != nil {
		return sp, err
	}
	if sc != nil {
		if err := sc.SaveMeta("slice-plan", sp); err != nil {
			return sp, err
		}
	}
	return sp, nil
}

// exportSlice exports one slice: its page 1 (from the probe, the
// checkpoint or a request), then the rest.
func (e *Exporter) exportSlice(ctx context.Context, rep *Report, f *flow, s pager.Slice) error {
	p := e.Pager
	var cp Checkpoint
	if sc, ok := e.Checkpoint.(SliceCheckpoint); ok {
		cp = sc.Sub(s.Key(p.Method))
	}
	params := s.Params(p.Method, p.Params)
	maxRows := 0
	if p.MaxRows > 0 {
		maxRows = p.MaxRows - int(rep.Rows+rep.Duplicates)
	}
	sr := SliceReport{Label: s.Label(), Planned: s.Total}
	var first *pager.Page
	var plan pager.Plan
	if s.First != nil && (maxRows == 0 || maxRows >= p.Params.Size) {
		first, plan = s.First, p.PlanFor(params, s.First, maxRows)
	} else {
		var err error
		if first, plan, err = e.first(ctx, cp, params, maxRows); err != nil {
			return err
		}
	}
	sr.Total = plan.Total
	sr.Unreachable = plan.Unreachable
	rows := rep.Rows
	defer func() {
		sr.Rows = rep.Rows - rows
		rep.Slices = append(rep.Slices, sr)
	}()
	e.cur = part{plan: plan}
	e.Logger.Debug("slice", "slice", sr.Label, "total", plan.Total, "pages", plan.Pages)
	if err := e.write(ctx, rep, first); err != nil {
		return err
	}
	return e.rest(ctx, rep, f, first, plan, cp)
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
	// Room to put pages back in order: as many again as in flight, but
	// no more than 8 pages beyond them, so memory stays flat when many
	// workers are in flight.
	window = max(e.Window, workers+min(workers, 8))
	return workers, window
}

// dispatch hands the pages to the workers in order: a page the checkpoint
// holds is loaded, any other is reserved and fetched. It closes results
// when every worker is done.
func (e *Exporter) dispatch(ctx context.Context, plan pager.Plan, cp Checkpoint, f *flow, halted <-chan struct{}, results chan<- result) {
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
		if cp != nil {
			pg, err := e.load(cp, n)
			if err != nil {
				results <- result{n: n, err: err}
				return
			}
			if pg != nil && usable(plan, pg) {
				results <- result{n: n, page: pg}
				continue
			}
			if pg == nil {
				pg, err := rereadRaw(e.Pager.Method, cp, n, &plan)
				if err != nil {
					results <- result{n: n, err: err}
					return
				}
				if pg != nil {
					results <- result{n: n, page: pg}
					continue
				}
			}
		}
		if err := e.saveFailed(); err != nil {
			// Disk full or the like: send nothing more that could not be
			// kept.
			results <- result{n: n, err: fmt.Errorf("page %d not asked: the checkpoint could not store an earlier page: %w", n, err)}
			return
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
			if cp != nil {
				if err == nil {
					e.save(cp, page)
				} else {
					err = keepUnexpected(cp, err)
				}
			}
			f.inflight.Add(-1)
			f.signal()
			results <- result{n: n, page: page, err: err}
			return nil
		})
	}
}

// write writes a page's rows to every sink: rows already written dropped
// (new rows inserted above them while exporting push them across a page
// boundary), a junction that may hide rows repaired first (see live.go),
// and the surplus of a capped plan's last page cut.
func (e *Exporter) write(ctx context.Context, rep *Report, pg *pager.Page) error {
	cur := &e.cur
	if pg.Spooled {
		rep.Resumed++
	}
	t := int(pg.Summary.Total)
	if t > 0 && cur.plan.Total > 0 && t != cur.plan.Total && t != rep.LastTotal {
		e.Logger.Warn("the query's total changed while exporting", "page", pg.N, "planned", cur.plan.Total, "now", t)
		rep.LastTotal = t
	}
	if t > 0 && cur.lastTotal > 0 && t < cur.lastTotal {
		bridged, ok := e.bridge(ctx, rep, pg)
		if !ok {
			cur.inDoubt += int64(cur.lastTotal - t)
			e.Logger.Warn("rows may be missing between two pages: new data came between their answers and the re-read did not prove the junction", "page", pg.N, "in_doubt", cur.lastTotal-t)
		} else if err := e.emit(rep, bridged); err != nil {
			return err
		}
	}
	rows, dups := cur.dedupe(pg.Rows)
	rep.Duplicates += int64(dups)
	cur.rows += int64(dups)
	if want := int64(cur.plan.Reachable) - cur.rows; cur.plan.Reachable < cur.plan.Total && int64(len(rows)) > want {
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
	if len(rows) > 0 {
		cur.last, cur.hasLast = rows[len(rows)-1], true
	}
	if t > 0 {
		cur.lastTotal = t
		cur.maxTotal = max(cur.maxTotal, t)
	}
	rep.Pages++
	rep.Rows += int64(len(rows))
	rep.UnknownKeys = countUnknown(rep.UnknownKeys, rows)
	for k, v := range pg.Intersect {
		if rep.Intersect == nil {
			rep.Intersect = make(map[string]string)
		}
		rep.Intersect[k] = v
	}
	rep.Repaired += pg.Repaired
	cur.rows += int64(len(rows))
	e.live.rows.Store(rep.Rows)
	e.live.pages.Store(int64(rep.Pages))
	return nil
}

// endPart reads on past a part's planned end when new data pushed rows
// there, and counts what could not be proven.
func (e *Exporter) endPart(ctx context.Context, rep *Report) error {
	err := e.tail(ctx, rep)
	rep.InDoubt += e.cur.inDoubt
	e.cur.inDoubt = 0
	return err
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
