// Package pager walks the pages of a query of a paged method (a
// serpstat.Method, getNewBacklinks by default) and plans what they cost:
// page 1 reveals the total, a Plan says which requests follow, what each
// may cost and what the whole export may spend (plan.go), slicing cuts a
// query past the API's row wall into parts that provably partition it
// (slice.go), and every request goes through one rate limiter, the credit
// budget and its export's guard (budget.go) and one retry decision
// (retry.go). A method that is not paged is one request at its price
// (whole.go).
package pager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
	N      int   // the page of the plan
	Step         // the page and size asked
	Billed int64 // credits it was counted for
	Err    *serpstat.UnexpectedError
}

func (e *UnexpectedPage) Error() string { return fmt.Sprintf("page %d: %v", e.N, e.Err) }
func (e *UnexpectedPage) Unwrap() error { return e.Err }

// ErrInterrupted is returned for a page not sent because the session was
// told to stop.
var ErrInterrupted = errors.New("interrupted")

// Page is one page's answer.
type Page struct {
	N    int // the page's number in its part's plan, for logs
	Step     // the page number and size asked
	// Spooled is set on a page loaded from a checkpoint, not asked now.
	Spooled bool
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

// Config is what a Pager is made of; New fills in the defaults of its
// zero fields.
type Config struct {
	// Fetcher sends the requests. Required.
	Fetcher Fetcher
	// Method is the method paged; nil means backlinks.NewBacklinks.
	Method *serpstat.Method
	// Params is the query; Page and Size are set per request. Size 0
	// means serpstat.DefaultPageSize.
	Params serpstat.Params
	// Limiter paces every attempt (a *Throttle, or a rate shared with
	// other processes); nil means no pacing.
	Limiter Limiter
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
}

// Pager fetches the pages of one query. Make it with New; it is not
// changed after, and is safe for concurrent use. What one export spends
// from and listens to is passed with each call (a Session).
type Pager struct {
	c Config // defaults resolved

	requests    atomic.Int64
	retries     atomic.Int64
	rateLimited atomic.Int64
	latency     atomic.Int64 // EWMA of answer times, in nanoseconds
}

// New returns a Pager of c, its defaults resolved once.
func New(c Config) *Pager {
	if c.Method == nil {
		c.Method = backlinks.NewBacklinks
	}
	if c.Params.Size == 0 && c.Method.Paged() {
		c.Params.Size = serpstat.DefaultPageSize
	}
	if c.Wall == 0 {
		c.Wall = serpstat.Wall
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Sleep == nil {
		c.Sleep = Sleep
	}
	c.Retry = c.Retry.withDefaults()
	return &Pager{c: c}
}

// For returns a Pager of another query (params) with the same fetcher,
// limiter, retries, wall and row cap, logging to logger (nil: p's); its
// counters start at zero.
func (p *Pager) For(params serpstat.Params, logger *slog.Logger) *Pager {
	c := p.c
	c.Params = params
	if c.Params.Size == 0 && c.Method.Paged() {
		c.Params.Size = p.c.Params.Size
	}
	if logger != nil {
		c.Logger = logger
	}
	return &Pager{c: c}
}

// Config returns what the Pager was made of, defaults resolved.
func (p *Pager) Config() Config { return p.c }

// Method is the method paged.
func (p *Pager) Method() *serpstat.Method { return p.c.Method }

// Params is the query.
func (p *Pager) Params() serpstat.Params { return p.c.Params }

// Size is the rows asked per page; 0 for a method that is not paged.
func (p *Pager) Size() int { return p.c.Params.Size }

// Wall is the API's row wall the Pager plans with.
func (p *Pager) Wall() int { return p.c.Wall }

// MaxRows is the most rows to export; 0 means all.
func (p *Pager) MaxRows() int { return p.c.MaxRows }

// Logger is where the Pager logs.
func (p *Pager) Logger() *slog.Logger { return p.c.Logger }

// Rate is the pace's rate now, in requests per second; +Inf when nothing
// paces the requests.
func (p *Pager) Rate() float64 {
	if p.c.Limiter == nil {
		return math.Inf(1)
	}
	return p.c.Limiter.Limit()
}

// Session is what one export's requests spend from and listen to: its
// budget (the export's guard, inside the run's budget) and the signal to
// stop sending. It is passed with every call, so a Pager shared by
// several exports is never changed by one of them.
type Session struct {
	// Budget is reserved from before every request; nil means no limit
	// and no count.
	Budget *Budget
	// Stop, when closed, makes every request not yet sent fail with
	// ErrInterrupted; requests already sent finish (they are paid for).
	Stop <-chan struct{}
}

func (s Session) stopped() bool {
	select {
	case <-s.Stop:
		return true
	default:
		return false
	}
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

// Request is one request to send: a page (Step) of params, the page of
// its part's plan it is (N, for logs), and the most it may cost, which
// is reserved before it is sent.
type Request struct {
	N      int
	Params serpstat.Params
	Step
	Cost int64
}

// Ticket is a Request whose cost is reserved: ready to be fetched.
type Ticket struct {
	Request
	res *Reservation
}

// Reserve reserves r's cost from the session's budget. Call it in the
// order the pages are written, from one goroutine, so that the pages the
// budget pays for are always a prefix of the plan.
func (p *Pager) Reserve(ctx context.Context, s Session, r Request) (*Ticket, error) {
	if s.Budget == nil {
		return &Ticket{Request: r}, nil
	}
	res, err := s.Budget.Reserve(ctx, r.Cost)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", r.N, err)
	}
	return &Ticket{Request: r, res: res}, nil
}

// Fetch sends a reserved request, retrying as the policy allows.
func (p *Pager) Fetch(ctx context.Context, s Session, t *Ticket) (*Page, error) {
	return p.do(ctx, s, t.Request, t.res)
}

// Get reserves and fetches r.
func (p *Pager) Get(ctx context.Context, s Session, r Request) (*Page, error) {
	t, err := p.Reserve(ctx, s, r)
	if err != nil {
		return nil, err
	}
	return p.Fetch(ctx, s, t)
}

// Probe fetches page 1 of params with size rows: a size of 1 learns the
// total for 1 credit.
func (p *Pager) Probe(ctx context.Context, s Session, params serpstat.Params, size int) (*Page, error) {
	return p.Get(ctx, s, Request{N: 1, Params: params, Step: Step{Page: 1, Size: size}, Cost: int64(size)})
}

func (p *Pager) do(ctx context.Context, s Session, r Request, res *Reservation) (*Page, error) {
	params := r.Params
	if p.c.Method.Paged() {
		params.Page, params.Size = r.Page, r.Size
	}
	n := r.N
	lim := p.c.Limiter
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		if lim != nil {
			if err := lim.Wait(ctx); err != nil {
				res.Settle(ctx, 0)
				return nil, fmt.Errorf("page %d: %w", n, err)
			}
		}
		if s.stopped() {
			res.Settle(ctx, 0)
			return nil, fmt.Errorf("page %d: %w", n, ErrInterrupted)
		}
		sent := time.Now()
		p.requests.Add(1)
		ans, err := p.c.Fetcher.Fetch(ctx, p.c.Method, params)
		if err == nil {
			p.observeLatency(time.Since(sent))
			if lim != nil {
				lim.Succeeded()
			}
			billed := p.c.Method.Billed(len(ans.Data))
			res.Settle(ctx, billed)
			if ll := int64(ans.Summary.LeftLines); ll > 0 && s.Budget != nil {
				s.Budget.ObserveBalance(ll)
			}
			if billed > res.Cost() && res != nil {
				p.c.Logger.Warn("page billed more than reserved: the data grew while exporting", "page", n, "reserved", res.Cost(), "billed", billed)
			}
			return &Page{N: n, Step: r.Step, Rows: ans.Data, Summary: ans.Summary, Billed: billed, Repaired: ans.Repaired, Intersect: ans.Intersect}, nil
		}
		class := serpstat.Classify(err)
		var be *serpstat.BodyError
		if errors.As(err, &be) && res != nil {
			// The answer was produced, so it was probably billed: count it,
			// and pay for the retry from the budget again.
			res.Settle(ctx, res.Cost())
			if class == serpstat.ClassTransient {
				// The plan did not count it: its guard allows the retry,
				// within its ceiling.
				s.Budget.Raise(res.Cost())
				var rerr error
				if res, rerr = s.Budget.Reserve(ctx, res.Cost()); rerr != nil {
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
				billed = p.c.Method.Billed(ue.Rows)
			}
			res.Settle(ctx, billed)
			return nil, &UnexpectedPage{N: n, Step: r.Step, Billed: billed, Err: ue}
		}
		f := Failure{Class: class, Attempt: attempt, Waited: waited}
		if class == serpstat.ClassRateLimited {
			p.rateLimited.Add(1)
			f.Paced = time.Second
			if lim != nil {
				f.Paced = lim.RateLimited()
			}
			var he *serpstat.HTTPError
			if errors.As(err, &he) {
				f.RetryAfter = parseRetryAfter(he.RetryAfter, time.Now())
			}
		}
		delay, retry := Decide(p.c.Retry, f, jitter)
		if !retry {
			res.Settle(ctx, 0)
			if class == serpstat.ClassWall {
				return nil, fmt.Errorf("page %d: %w: %w", n, ErrWall, err)
			}
			return nil, fmt.Errorf("page %d: %w", n, err)
		}
		p.retries.Add(1)
		p.c.Logger.Debug("retrying", "page", n, "attempt", attempt+1, "reason", class.String(), "error", err, "delay", delay)
		if delay > 0 {
			if err := p.sleep(ctx, s.Stop, delay); err != nil {
				res.Settle(ctx, 0)
				return nil, fmt.Errorf("page %d: %w", n, err)
			}
			if s.stopped() {
				res.Settle(ctx, 0)
				return nil, fmt.Errorf("page %d: %w", n, ErrInterrupted)
			}
			waited += delay
		}
	}
}

// sleep waits d, or less when ctx ends or stop is closed.
func (p *Pager) sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) error {
	if stop == nil {
		return p.c.Sleep(ctx, d)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := p.c.Sleep(ctx, d)
	select {
	case <-stop:
		return nil // the caller sees Stop next
	default:
	}
	return err
}

// Sleep waits d, or less when ctx ends (its error then).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
