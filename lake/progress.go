package lake

import (
	"sync"

	"github.com/serpstat-export/serpstat-export/exporter"
)

// Snapshot says how far a run of several queries is. Rows, Pages,
// Requests, Retries and RateLimited count the queries finished and those
// running; Credits is the run's budget's spend.
type Snapshot struct {
	Queries int // the queries of the run
	Done    int // finished, whatever their end, reused included
	Running int // being exported now
	Failed  int // finished with an error

	Rows, Pages                    int64
	Requests, Retries, RateLimited int64
	Credits                        int64 // billed so far by the run
	Budget                         int64 // the cap; 0 for none
}

// runProgress follows the exporters of a run. Safe for concurrent use.
type runProgress struct {
	r       *Run
	mu      sync.Mutex
	n       int
	done    int
	failed  int
	ended   exporter.Snapshot // the finished queries' sums
	running map[int]*exporter.Exporter
}

func newRunProgress(r *Run, n int) *runProgress {
	return &runProgress{r: r, n: n, running: map[int]*exporter.Exporter{}}
}

func (p *runProgress) reused() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
}

// track follows query i's exporter until the returned func is called.
func (p *runProgress) track(i int) func(e *exporter.Exporter) func() {
	return func(e *exporter.Exporter) func() {
		p.mu.Lock()
		p.running[i] = e
		p.mu.Unlock()
		return func() {
			sn := e.Snapshot()
			p.mu.Lock()
			defer p.mu.Unlock()
			delete(p.running, i)
			p.ended.Rows += sn.Rows
			p.ended.Pages += sn.Pages
			p.ended.Requests += sn.Requests
			p.ended.Retries += sn.Retries
			p.ended.RateLimited += sn.RateLimited
		}
	}
}

// outstanding is what query i may still spend by its plan and what the
// plan costs in all (see exporter.Exporter.Outstanding); known is false
// while its plan is not.
func (p *runProgress) outstanding(i int) (left, plan int64, known bool) {
	p.mu.Lock()
	e := p.running[i]
	p.mu.Unlock()
	if e == nil {
		return 0, 0, false
	}
	return e.Outstanding()
}
func (p *runProgress) finished(qr *QueryResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if qr.Err != nil {
		p.failed++
	}
}

// snapshot sums the finished queries and the running ones.
func (p *runProgress) snapshot() Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Snapshot{Queries: p.n, Done: p.done, Running: len(p.running), Failed: p.failed,
		Rows: p.ended.Rows, Pages: p.ended.Pages, Requests: p.ended.Requests, Retries: p.ended.Retries, RateLimited: p.ended.RateLimited}
	for _, e := range p.running {
		sn := e.Snapshot()
		s.Rows += sn.Rows
		s.Pages += sn.Pages
		s.Requests += sn.Requests
		s.Retries += sn.Retries
		s.RateLimited += sn.RateLimited
	}
	if b := p.r.Budget; b != nil {
		s.Credits, s.Budget = b.Spent(), b.Limit()
	}
	return s
}
