package exporter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/serpstat-export/serpstat-export/pager"
)

// Pool is the request slots the exporters of one run share: a request
// holds a slot from its reservation to its answer, so the run's requests
// in flight, whatever the number of queries being exported at once, stay
// within the pool's size. When slots are scarce the exporter with the
// lowest Order gets the next one, so the earlier queries of a run finish
// first and the next ones fill what they leave idle.
//
// Its size is fixed (Workers), or automatic: Little's law on the rate of
// the run's limiter and the latency its exporters measured (rate ×
// latency × 1.25, plus one, 2..24), as one exporter sizes its workers.
// Safe for concurrent use.
type Pool struct {
	workers int           // fixed size; 0: automatic
	pager   *pager.Pager  // the run's: its limiter's rate
	mu      sync.Mutex    // guards the fields below
	inUse   int           // slots held or handed over (reserved included)
	waiters []*poolWaiter // by order, then arrival
	latency time.Duration // the exporters' last measured latency
	// reserved: a slot taken for an exporter before it starts (Start),
	// which its first request uses.
	reserved map[int]bool
	peak     int    // most slots held at once
	seq      uint64 // waiters' arrivals, to keep their order within an order
	// taken is when the slots in use were taken, oldest first: the age
	// of the oldest is a latency the pool has at least, before any
	// answer measured one.
	taken []time.Time
	now   func() time.Time // nil: time.Now
}

// growEvery is how often a waiter of an automatic pool looks whether the
// age of the requests in flight has grown the pool.
const growEvery = 100 * time.Millisecond

type poolWaiter struct {
	order int
	seq   uint64
	ready chan struct{} // closed when the slot is handed over
}

// NewPool returns a pool of workers slots; 0 sizes it from p's rate and
// the measured latency.
func NewPool(workers int, p *pager.Pager) *Pool {
	return &Pool{workers: workers, pager: p, reserved: map[int]bool{}}
}

// Size is the slots the pool has now.
func (p *Pool) Size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size()
}

func (p *Pool) size() int {
	lat := p.latency
	if p.workers <= 0 && len(p.taken) > 0 {
		// A request in flight that long: the latency is at least that,
		// so the pool grows before the first answers come back (at 1.5 s,
		// a run of one-page queries would otherwise wait at 2 slots).
		lat = max(lat, p.clock().Sub(p.taken[0]))
	}
	return poolSize(p.workers, p.pager.Rate(), lat)
}

func (p *Pool) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// poolSize is Little's law on rate and latency, or workers when fixed.
func poolSize(workers int, rate float64, latency time.Duration) int {
	if workers <= 0 {
		rate = min(rate, 1e6)
		workers = int(math.Ceil(rate*latency.Seconds()*workerHeadroom)) + 1
		workers = min(max(workers, 2), maxAutoWorkers)
	}
	return min(workers, MaxWorkers)
}

// Peak is the most slots held at once.
func (p *Pool) Peak() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// Acquire waits for a slot for an exporter of the given order (lower goes
// first). A slot Start reserved for that order is taken at once. It
// returns ctx's error, or errSlotCancelled when stop or halted closes
// first.
func (p *Pool) Acquire(ctx context.Context, order int, stop, halted <-chan struct{}) error {
	p.mu.Lock()
	if p.reserved[order] {
		delete(p.reserved, order)
		p.mu.Unlock()
		return nil
	}
	if p.inUse < p.size() && !p.earlierWaiting(order) {
		p.take()
		p.mu.Unlock()
		return nil
	}
	p.seq++
	w := &poolWaiter{order: order, seq: p.seq, ready: make(chan struct{})}
	i := sort.Search(len(p.waiters), func(i int) bool {
		o := p.waiters[i]
		return o.order > order || o.order == order && o.seq > w.seq
	})
	p.waiters = append(p.waiters, nil)
	copy(p.waiters[i+1:], p.waiters[i:])
	p.waiters[i] = w
	p.mu.Unlock()

	var grow <-chan time.Time
	if p.workers <= 0 {
		t := time.NewTicker(growEvery)
		defer t.Stop()
		grow = t.C
	}
	var err error
wait:
	for {
		select {
		case <-w.ready:
			return nil
		case <-grow:
			p.mu.Lock()
			p.handOver()
			p.mu.Unlock()
			continue
		case <-ctx.Done():
			err = ctx.Err()
		case <-stop:
			err = errSlotCancelled
		case <-halted:
			err = errSlotCancelled
		}
		break wait
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, o := range p.waiters {
		if o == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return err
		}
	}
	// Handed over as it gave up: passed on.
	p.release()
	return err
}

// earlierWaiting tells whether an exporter of an order lower than or
// equal to order is waiting for a slot.
func (p *Pool) earlierWaiting(order int) bool {
	return len(p.waiters) > 0 && p.waiters[0].order <= order
}

func (p *Pool) take() {
	p.inUse++
	p.peak = max(p.peak, p.inUse)
	p.taken = append(p.taken, p.clock())
}

// Release gives a slot back, with the latency its exporter measured so
// far (0: none measured), which sizes an automatic pool.
func (p *Pool) Release(latency time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if latency > 0 {
		p.latency = latency
	}
	p.release()
}

// release hands the slot to the first waiter, and any slot a larger size
// made free to the next ones.
func (p *Pool) release() {
	p.inUse--
	if len(p.taken) > 0 {
		// Requests end roughly in the order they left: the oldest goes.
		p.taken = p.taken[1:]
	}
	p.handOver()
}

// handOver gives the slots the pool's size leaves free to the first
// waiters.
func (p *Pool) handOver() {
	for len(p.waiters) > 0 && p.inUse < p.size() {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.take()
		close(w.ready)
	}
}

// Start waits until the pool has a slot no earlier exporter is waiting
// for, and keeps it for the exporter of that order: its first request
// takes it (Acquire). Forgo gives it back if the exporter sends none.
func (p *Pool) Start(ctx context.Context, order int, stop <-chan struct{}) error {
	if err := p.Acquire(ctx, order, stop, nil); err != nil {
		return err
	}
	p.mu.Lock()
	p.reserved[order] = true
	p.mu.Unlock()
	return nil
}

// Forgo gives back the slot Start kept for order, if its exporter did not
// use it.
func (p *Pool) Forgo(order int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reserved[order] {
		delete(p.reserved, order)
		p.release()
	}
}

// errSlotCancelled: the exporter stopped or halted while waiting for a slot.
var errSlotCancelled = errors.New("stopped while waiting for a request slot")

// slot takes a request slot of the run's pool, if the exporter has one;
// release gives it back. Its error is ctx's, or pager.ErrInterrupted when
// the exporter is stopped (or halted) while it waits.
func (r *run) slot(ctx context.Context, halted <-chan struct{}) (release func(), err error) {
	pool := r.e.Pool
	if pool == nil {
		return func() {}, nil
	}
	if err := pool.Acquire(ctx, r.e.Order, r.e.Stop, halted); err != nil {
		if errors.Is(err, errSlotCancelled) {
			err = pager.ErrInterrupted
		}
		return nil, err
	}
	return func() { pool.Release(r.p.Latency()) }, nil
}

// get is pager.Get holding a request slot of the run's pool.
func (r *run) get(ctx context.Context, req pager.Request) (*pager.Page, error) {
	release, err := r.slot(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", req.N, err)
	}
	defer release()
	return r.p.Get(ctx, r.sess, req)
}
