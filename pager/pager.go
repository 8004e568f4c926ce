// Package pager walks every page of a query of a paged method (a
// serpstat.Method, getNewBacklinks by default): page 1 reveals
// the total, a Plan says which pages follow and what each may cost, and
// every request goes through one shared rate limiter, the credit budget
// guard and one retry decision.
package pager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// Fetcher gets one page of a method; *serpstat.Client is one.
type Fetcher interface {
	Fetch(ctx context.Context, m *serpstat.Method, p serpstat.Params) (*serpstat.Page, error)
}

// ErrWall is returned for a page the API refused as past its row wall.
var ErrWall = errors.New("past the API's row wall")

// UnexpectedPage is the error of a page whose answer was well-formed JSON
// of a shape this version cannot read (a *serpstat.UnexpectedError, whose
// Raw holds the answer). It was billed, so it is never asked again: keep
// Err.Raw and read it again later (serpstat.Method.DecodeAnswer).
type UnexpectedPage struct {
	N, Page, Size int   // the page of the plan, and the page and size asked
	Billed        int64 // credits it was counted for
	Err           *serpstat.UnexpectedError
}

func (e *UnexpectedPage) Error() string { return fmt.Sprintf("page %d: %v", e.N, e.Err) }
func (e *UnexpectedPage) Unwrap() error { return e.Err }

// ErrInterrupted is returned for a page not sent because the Pager was
// told to stop.
var ErrInterrupted = errors.New("interrupted")

// Retry defaults.
const (
	DefaultMaxAttempts = 8
	DefaultBaseDelay   = 500 * time.Millisecond
	DefaultMaxDelay    = 30 * time.Second
	DefaultMaxWait     = 5 * time.Minute
	// maxRateLimitedAttempts bounds retries of over-rate answers, which cost
	// nothing and are paced by the Throttle.
	maxRateLimitedAttempts = 100
)

// RetryPolicy bounds retries of transient failures: exponential backoff
// with full jitter, capped at MaxDelay, at most MaxAttempts attempts and
// MaxWait of waiting per page. Zero fields take the defaults.
type RetryPolicy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	MaxWait     time.Duration
}

func (r RetryPolicy) withDefaults() RetryPolicy {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = DefaultBaseDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.MaxWait <= 0 {
		r.MaxWait = DefaultMaxWait
	}
	return r
}

// Plan is what page 1 tells about the whole query.
type Plan struct {
	Params      serpstat.Params // the query planned; Page and Size unused
	Size        int             // rows per page
	Total       int             // rows the query matches
	Wall        int             // rows the API serves at most
	MaxRows     int             // rows wanted at most; 0: all
	Reachable   int             // rows to export: min(Total, Wall, MaxRows)
	Pages       int             // pages to fetch, page 1 included
	Unreachable int             // matching rows past the wall
	// TotalUnknown is set when page 1 was full and did not tell the total
	// (serpstat.TotalUnknown): Total is then the wall, an upper bound, and
	// the pages are to be asked one after another until a short one, each
	// reserving a full page.
	TotalUnknown bool
	// Steps, when set, are the requests of a plan that pages at more than
	// one size: with MaxRows below the total, so that the rows billed are
	// exactly the rows wanted (see ExactSteps). Steps[n-1] is page n.
	Steps []Step `json:",omitempty"`
}

// NewPlan plans a query of total rows at size rows per page under wall,
// for at most maxRows rows (0: all).
func NewPlan(total, size, wall, maxRows int) Plan {
	reach := min(total, wall)
	unreach := total - reach
	if maxRows > 0 {
		reach = min(reach, maxRows)
	}
	pages := max(1, (reach+size-1)/size)
	plan := Plan{Size: size, Total: total, Wall: wall, MaxRows: maxRows, Reachable: reach, Pages: pages, Unreachable: unreach}
	if maxRows > 0 && reach == maxRows && reach < min(total, wall) {
		plan.Steps = ExactSteps(0, reach, size)
		plan.Pages = len(plan.Steps)
	}
	return plan
}

// newPlanFrom plans like NewPlan for a page 1 that was asked with size
// first: with MaxRows, page 1's size is the first step of the exact plan
// (or was cut by the budget), and the rest follows from there.
func newPlanFrom(total, size, wall, maxRows, first int) Plan {
	plan := NewPlan(total, size, wall, maxRows)
	if maxRows <= 0 || first == size || plan.Reachable <= first {
		return plan
	}
	if len(plan.Steps) > 0 && plan.Steps[0].Size == first {
		return plan
	}
	plan.Steps = append([]Step{{Page: 1, Size: first}}, ExactSteps(first, plan.Reachable, size)...)
	plan.Pages = len(plan.Steps)
	return plan
}

// Cost is the credits the whole export costs when every page is answered
// once: a credit a row, and 1 for an empty answer.
func (p Plan) Cost() int64 {
	var sum int64
	if len(p.Steps) > 0 {
		for n := 1; n <= p.Pages; n++ {
			_, _, c := p.Request(n)
			sum += c
		}
		return sum
	}
	if p.Pages == 1 {
		_, _, c := p.Request(1)
		return c
	}
	// Every page but the last is full.
	_, _, last := p.Request(p.Pages)
	sum = int64(p.Pages-1)*int64(p.Size) + last
	return sum
}

// Request returns the page number and size to ask for page n of the plan,
// and the most it may cost. When the plan stops short of the total (at the
// wall, or at MaxRows) and the last page would ask for more rows than are
// wanted, it is asked with the smallest size that divides its offset
// (offset = (page-1)×size) and still covers the rows wanted, so it pays
// for as few surplus rows as paging allows and, at the wall, never asks
// past it. The caller cuts the surplus.
func (p Plan) Request(n int) (page, size int, maxCost int64) {
	if len(p.Steps) > 0 {
		st := p.Steps[n-1]
		return st.Page, st.Size, int64(max(1, min(st.Size, p.Total-st.Offset())))
	}
	offset := (n - 1) * p.Size
	left := p.Reachable - offset
	if p.Reachable < p.Total && left > 0 && left < p.Size {
		for s := left; s <= p.Size; s++ {
			if offset%s == 0 {
				return offset/s + 1, s, int64(min(s, p.Total-offset))
			}
		}
	}
	return n, p.Size, int64(max(1, min(p.Size, p.Total-offset)))
}

// Page is one page's answer.
type Page struct {
	N       int  // the page's number in the plan
	Page    int  // the page number asked for
	Size    int  // the size asked for
	Spooled bool // loaded from a checkpoint, not asked for now
	Rows    []serpstat.Row
	Summary serpstat.SummaryInfo
	// Intersect names the domain each links_count_N column counts for,
	// when the answer said (getIntersect).
	Intersect map[string]string `json:",omitempty"`
	Billed    int64             // credits this answer cost
	// Repaired counts invalid UTF-8 sequences in the answer, decoded as
	// U+FFFD.
	Repaired int `json:",omitempty"`
}

// Pager fetches pages. Set its fields before the first call; then it is
// safe for concurrent use.
type Pager struct {
	// Fetcher sends the requests. Required.
	Fetcher Fetcher
	// Method is the method paged; nil means backlinks.NewBacklinks.
	Method *serpstat.Method
	// Params is the query; Page and Size are set per request. Size 0 means
	// serpstat.DefaultPageSize.
	Params serpstat.Params
	// Throttle paces every attempt; nil means no pacing.
	Throttle *Throttle
	// Limiter, when set, paces every attempt instead of Throttle (which
	// then only tells the exporter the rate to size its workers by).
	Limiter Limiter
	// Budget guards credits; nil means no limit (a Budget still counts).
	Budget *Budget
	// Retry bounds retries of transient failures.
	Retry RetryPolicy
	// Wall is the API's row wall; 0 means serpstat.Wall.
	Wall int
	// MaxRows is the most rows to export (the first ones in API order);
	// 0 means all.
	MaxRows int
	// Logger gets retries at debug level; nil discards.
	Logger *slog.Logger
	// Sleep waits between retries; nil means a timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Stop, when closed, makes every page not yet sent fail with
	// ErrInterrupted; requests already sent finish (they are paid for).
	Stop <-chan struct{}

	requests    atomic.Int64
	retries     atomic.Int64
	rateLimited atomic.Int64
	latency     atomic.Int64 // EWMA of answer times, in nanoseconds
}

// Latency is a moving average of how long answers take; 0 before the first.
func (p *Pager) Latency() time.Duration { return time.Duration(p.latency.Load()) }

func (p *Pager) observeLatency(d time.Duration) {
	for {
		old := p.latency.Load()
		next := int64(d)
		if old > 0 {
			next = old + (int64(d)-old)/5
		}
		if p.latency.CompareAndSwap(old, next) {
			return
		}
	}
}

// Stats counts what the Pager saw.
type Stats struct {
	Requests    int64 // attempts sent
	Retries     int64 // attempts after a failure
	RateLimited int64 // over-rate answers
}

// Stats returns the counters.
func (p *Pager) Stats() Stats {
	return Stats{Requests: p.requests.Load(), Retries: p.retries.Load(), RateLimited: p.rateLimited.Load()}
}

// Init fills in defaults; call it once before First.
func (p *Pager) Init() {
	if p.Method == nil {
		p.Method = backlinks.NewBacklinks
	}
	if p.Params.Size == 0 {
		p.Params.Size = serpstat.DefaultPageSize
	}
	if p.Wall == 0 {
		p.Wall = serpstat.Wall
	}
	if p.Budget == nil {
		p.Budget = NewBudget(0)
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	p.Retry = p.Retry.withDefaults()
}

// First fetches page 1 of the Pager's query and plans the rest.
func (p *Pager) First(ctx context.Context) (*Page, Plan, error) {
	p.Init()
	return p.FirstFor(ctx, p.Params, p.MaxRows)
}

// FirstFor fetches page 1 of params (a part of the query: the same
// params with another complexFilter) and plans it for at most maxRows
// rows (0: all). Before the total is known page 1 may cost a full page;
// when the budget holds less, or fewer rows are wanted, page 1 asks for
// only that many rows (any size fits offset 0).
func (p *Pager) FirstFor(ctx context.Context, params serpstat.Params, maxRows int) (*Page, Plan, error) {
	p.Init()
	size := firstSize(params.Size, maxRows, p.Wall)
	if avail := p.Budget.Available(); avail >= 0 && avail < int64(size) {
		if avail < 1 {
			_, err := p.Budget.Reserve(1)
			return nil, Plan{}, fmt.Errorf("page 1: %w", err)
		}
		size = int(avail)
	}
	pg, err := p.ProbeFor(ctx, params, size)
	if err != nil {
		return nil, Plan{}, err
	}
	return pg, p.PlanFor(params, pg, maxRows), nil
}

// PlanFor plans params from its page 1, for at most maxRows rows.
func (p *Pager) PlanFor(params serpstat.Params, first *Page, maxRows int) Plan {
	p.Init()
	total := int(first.Summary.Total)
	if total < 0 {
		if len(first.Rows) >= first.Size && len(first.Rows) > 0 {
			plan := NewPlan(p.Wall, params.Size, p.Wall, maxRows)
			plan.Params, plan.TotalUnknown, plan.Unreachable = params, true, 0
			return plan
		}
		// A short page 1 is the whole query.
		total = len(first.Rows)
	}
	plan := newPlanFrom(max(total, len(first.Rows)), params.Size, p.Wall, maxRows, first.Size)
	plan.Params = params
	return plan
}

// Probe learns the plan with one request of size 1, which costs 1 credit
// whatever the query's total.
func (p *Pager) Probe(ctx context.Context) (Plan, error) {
	p.Init()
	pg, err := p.ProbeFor(ctx, p.Params, 1)
	if err != nil {
		return Plan{}, err
	}
	// Planned as the export will page, not from this size-1 page.
	plan := NewPlan(max(int(pg.Summary.Total), len(pg.Rows)), p.Params.Size, p.Wall, p.MaxRows)
	plan.Params = p.Params
	return plan, nil
}

// ProbeFor fetches page 1 of params with the given size: a size of 1
// learns the total for 1 credit.
func (p *Pager) ProbeFor(ctx context.Context, params serpstat.Params, size int) (*Page, error) {
	p.Init()
	res, err := p.Budget.Reserve(int64(size))
	if err != nil {
		return nil, fmt.Errorf("page 1: %w", err)
	}
	return p.do(ctx, params, 1, 1, size, res)
}

// FetchAt fetches page (page, size) of params outside any plan, as page
// n for logs: a re-read of rows that new data shifted. Its full cost is
// reserved from the budget first.
func (p *Pager) FetchAt(ctx context.Context, params serpstat.Params, n, page, size int) (*Page, error) {
	p.Init()
	res, err := p.Budget.Reserve(int64(size))
	if err != nil {
		return nil, fmt.Errorf("re-read: %w", err)
	}
	return p.do(ctx, params, n, page, size, res)
}

// Request is a page whose maximum cost is reserved and that is ready to
// be fetched.
type Request struct {
	N          int
	params     serpstat.Params
	page, size int
	res        *Reservation
}

// Reserve reserves the credits for page n of plan. Call it in page order
// from one goroutine, so the pages the budget pays for are always a
// prefix of the plan.
func (p *Pager) Reserve(plan Plan, n int) (*Request, error) {
	page, size, cost := plan.Request(n)
	res, err := p.Budget.Reserve(cost)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", n, err)
	}
	params := plan.Params
	if params.Query == "" {
		params = p.Params
	}
	return &Request{N: n, params: params, page: page, size: size, res: res}, nil
}

// Fetch sends a reserved request, retrying as the policy allows.
func (p *Pager) Fetch(ctx context.Context, r *Request) (*Page, error) {
	return p.do(ctx, r.params, r.N, r.page, r.size, r.res)
}

func (p *Pager) do(ctx context.Context, params serpstat.Params, n, page, size int, res *Reservation) (*Page, error) {
	params.Page, params.Size = page, size
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		if lim := p.limiter(); lim != nil {
			if err := lim.Wait(ctx); err != nil {
				res.Settle(0)
				return nil, fmt.Errorf("page %d: %w", n, err)
			}
		}
		if p.stopped() {
			res.Settle(0)
			return nil, fmt.Errorf("page %d: %w", n, ErrInterrupted)
		}
		sent := time.Now()
		p.requests.Add(1)
		ans, err := p.Fetcher.Fetch(ctx, p.Method, params)
		if err == nil {
			p.observeLatency(time.Since(sent))
			if lim := p.limiter(); lim != nil {
				lim.Succeeded()
			}
			billed := max(1, int64(len(ans.Data)))
			res.Settle(billed)
			if ll := int64(ans.Summary.LeftLines); ll > 0 {
				p.Budget.ObserveBalance(ll)
			}
			if billed > res.Cost() {
				p.Logger.Warn("page billed more than reserved: the data grew while exporting", "page", n, "reserved", res.Cost(), "billed", billed)
			}
			return &Page{N: n, Page: page, Size: size, Rows: ans.Data, Summary: ans.Summary, Billed: billed, Repaired: ans.Repaired, Intersect: ans.Intersect}, nil
		}
		class := serpstat.Classify(err)
		var be *serpstat.BodyError
		if errors.As(err, &be) {
			// The answer was produced, so it was probably billed: count it,
			// and pay for the retry from the budget again.
			res.Settle(res.Cost())
			if class == serpstat.ClassTransient {
				var rerr error
				if res, rerr = p.Budget.Reserve(res.Cost()); rerr != nil {
					return nil, fmt.Errorf("page %d: retry after %v: %w", n, err, rerr)
				}
			}
		}
		var ue *serpstat.UnexpectedError
		if class == serpstat.ClassUnexpected && errors.As(err, &ue) {
			// Well-formed and billed, but unreadable: asking again buys
			// the same answer. Count it, and hand its bytes back.
			billed := res.Cost()
			if ue.Rows > 0 {
				billed = int64(ue.Rows)
			}
			res.Settle(billed)
			return nil, &UnexpectedPage{N: n, Page: page, Size: size, Billed: billed, Err: ue}
		}
		delay, retry := p.decide(err, class, attempt, waited)
		if !retry {
			res.Settle(0)
			if class == serpstat.ClassWall {
				return nil, fmt.Errorf("page %d: %w: %w", n, ErrWall, err)
			}
			return nil, fmt.Errorf("page %d: %w", n, err)
		}
		p.retries.Add(1)
		p.Logger.Debug("retrying", "page", n, "attempt", attempt+1, "reason", class.String(), "error", err, "delay", delay)
		if delay > 0 {
			if err := p.sleep(ctx, delay); err != nil {
				res.Settle(0)
				return nil, fmt.Errorf("page %d: %w", n, err)
			}
			if p.stopped() {
				res.Settle(0)
				return nil, fmt.Errorf("page %d: %w", n, ErrInterrupted)
			}
			waited += delay
		}
	}
}

// decide is the one retry decision: the context first, then the class of
// the error, then the backoff.
func (p *Pager) decide(err error, class serpstat.Class, attempt int, waited time.Duration) (time.Duration, bool) {
	switch class {
	case serpstat.ClassRateLimited:
		p.rateLimited.Add(1)
		if attempt >= maxRateLimitedAttempts {
			return 0, false
		}
		var d time.Duration
		if lim := p.limiter(); lim != nil {
			d = lim.RateLimited()
		} else {
			d = time.Second
		}
		var he *serpstat.HTTPError
		if errors.As(err, &he) {
			if ra := parseRetryAfter(he.RetryAfter); ra > d {
				d = ra
			}
		}
		return d, true
	case serpstat.ClassTransient:
		if attempt >= p.Retry.MaxAttempts {
			return 0, false
		}
		ceiling := min(p.Retry.MaxDelay, p.Retry.BaseDelay<<min(attempt-1, 20))
		d := time.Duration(rand.Int64N(int64(ceiling) + 1))
		if waited+d > p.Retry.MaxWait {
			return 0, false
		}
		return d, true
	}
	return 0, false
}

func parseRetryAfter(s string) time.Duration {
	if s == "" {
		return 0
	}
	var secs int
	if _, err := fmt.Sscanf(s, "%d", &secs); err == nil && secs >= 0 {
		return min(time.Duration(secs)*time.Second, 5*time.Minute)
	}
	if t, err := time.Parse(time.RFC1123, s); err == nil {
		return min(max(0, time.Until(t)), 5*time.Minute)
	}
	return 0
}

// sleep waits d, or less when ctx ends or Stop is closed.
func (p *Pager) sleep(ctx context.Context, d time.Duration) error {
	if p.Stop == nil {
		return p.Sleep(ctx, d)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.Stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := p.Sleep(ctx, d)
	if p.stopped() {
		return nil // the caller sees Stop next
	}
	return err
}

func (p *Pager) stopped() bool {
	select {
	case <-p.Stop:
		return true
	default:
		return false
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
