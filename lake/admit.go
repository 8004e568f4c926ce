package lake

import (
	"context"
	"sync"
	"time"

	"github.com/serpstat-export/serpstat-export/pager"
)

// admitRecheck is how often a query held back by admission looks again
// at the budget: a running query's plan, known once its page 1 is
// answered, may leave room before it ends.
const admitRecheck = 100 * time.Millisecond

// admission holds the next query back while the run's budget cannot pay
// for the queries running, to the end of their plans, and for the next
// one. A query whose plan is not known yet (its page 1 is not answered)
// and the next one are taken to cost as much as the largest plan seen in
// the run; until one is seen, one query is planned at a time. With a
// tight --budget the queries then end whole one after another, as when
// they ran one at a time, instead of all stopping half done; with room to
// spare, or with no budget, it holds nothing back. When nothing runs the
// next query always starts (a query whose own plan does not fit stops on
// the budget, as ever).
type admission struct {
	budget *pager.Budget
	first  int64 // what a query's first request reserves
	prog   *runProgress

	mu      sync.Mutex
	started map[int]bool // queries admitted and not ended
	largest int64        // the largest plan seen; 0: none yet
	ended   chan struct{}
}

func newAdmission(budget *pager.Budget, first int64, prog *runProgress) *admission {
	return &admission{budget: budget, first: max(1, first), prog: prog, started: map[int]bool{}, ended: make(chan struct{}, 1)}
}

// fits tells whether the next query may start with avail credits left.
func (a *admission) fits(avail int64) (need int64, ok bool) {
	a.mu.Lock()
	ids := make([]int, 0, len(a.started))
	for i := range a.started {
		ids = append(ids, i)
	}
	a.mu.Unlock()
	var known int64
	unknown := 1 // the next query
	for _, i := range ids {
		left, plan, ok := a.prog.outstanding(i)
		if !ok {
			unknown++
			continue
		}
		known += left
		a.mu.Lock()
		a.largest = max(a.largest, plan)
		a.mu.Unlock()
	}
	a.mu.Lock()
	est := max(a.first, a.largest)
	seen := a.largest > 0
	a.mu.Unlock()
	need = known + int64(unknown)*est
	// Before any plan is seen, one unplanned query at a time.
	return need, avail >= need && (seen || unknown == 1)
}

// wait returns true when the next query may start: nothing runs, no
// budget limits the run, or it has room for it (see admission). held is
// called once if it has to wait. It returns false when failed closes or
// ctx ends first.
func (a *admission) wait(ctx context.Context, failed <-chan struct{}, held func(avail, need int64)) bool {
	told := false
	for {
		select {
		case <-failed:
			return false
		default:
		}
		a.mu.Lock()
		running := len(a.started)
		a.mu.Unlock()
		avail := a.budget.Available()
		if running == 0 || avail < 0 {
			return true
		}
		need, ok := a.fits(avail)
		if ok {
			return true
		}
		if !told && held != nil {
			held(avail, need)
			told = true
		}
		t := time.NewTimer(admitRecheck)
		select {
		case <-a.ended:
		case <-t.C:
		case <-failed:
			t.Stop()
			return false
		case <-ctx.Done():
			t.Stop()
			return false
		}
		t.Stop()
	}
}

// start and end bracket query i's export; end learns what it cost.
func (a *admission) start(i int) {
	a.mu.Lock()
	a.started[i] = true
	a.mu.Unlock()
}

func (a *admission) end(i int, cost int64) {
	a.mu.Lock()
	delete(a.started, i)
	a.largest = max(a.largest, cost)
	a.mu.Unlock()
	select {
	case a.ended <- struct{}{}:
	default:
	}
}
