package lake

import (
	"context"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Estimate is what an export of one query would cost, as `estimate`
// prints it; its JSON form is a contract with scripts.
type Estimate struct {
	Method     string `json:"method"`
	Query      string `json:"query"`
	SearchType string `json:"search_type"`
	// Params are the method's own params sent (--param), LinkPerDomain
	// the linkPerDomain sent (nil: none).
	Params            map[string]string `json:"params,omitempty"`
	LinkPerDomain     *int              `json:"link_per_domain,omitempty"`
	Balance           int64             `json:"balance"`
	Total             int               `json:"total"`
	TotalUnknown      bool              `json:"total_unknown,omitempty"` // the API did not tell it: Total is the wall, an upper bound
	Reachable         int               `json:"reachable"`
	Unreachable       int               `json:"unreachable"`
	MaxRows           int               `json:"max_rows,omitempty"`
	Size              int               `json:"size"`
	Pages             int               `json:"pages"`
	PagePlan          string            `json:"page_plan"` // how the pages are asked, e.g. "3 pages of 879 rows, then 1 of 586" with --max-rows
	Credits           int64             `json:"credits"`
	Guard             int64             `json:"guard"` // the most the export may spend whatever the API answers
	RPS               float64           `json:"rps"`
	Seconds           float64           `json:"seconds"`
	EstimateCost      int64             `json:"estimate_cost"`
	BalanceAfter      int64             `json:"balance_after"`
	Budget            int64             `json:"budget,omitempty"`
	KeepBalance       int64             `json:"keep_balance,omitempty"`
	FitsBudget        bool              `json:"fits_budget"`
	AffordableCredits int64             `json:"affordable_credits"`
	Slices            int               `json:"slices"`
	ProbeCredits      int64             `json:"probe_credits"`
	// InDoubt is the rows slicing could not prove it reaches (a filter
	// with no effect, NoEffect); the export would stop with them in doubt.
	InDoubt  int      `json:"rows_in_doubt,omitempty"`
	NoEffect []string `json:"filters_without_effect,omitempty"`
	// Incremental loads: the rows first seen on or after Since, of which
	// AlreadyExported (the boundary day) are paid for again and dropped.
	Incremental     bool   `json:"incremental,omitempty"`
	Since           string `json:"since,omitempty"`
	NewRows         int    `json:"new_rows,omitempty"`
	AlreadyExported int    `json:"already_exported,omitempty"`
	Error           string `json:"error,omitempty"`
	// NotPaged is set for a method that is not paged: its price is known
	// without asking, so the estimate sends nothing (EstimateCost 0);
	// Total and Reachable are the rows its answer is known to hold
	// (1 for an object), 0 with TotalUnknown for a list only the answer
	// tells the length of.
	NotPaged bool `json:"not_paged,omitempty"`
	// Reused: the run record of an earlier run of the same command and
	// date says the query is done, so the export would neither buy nor
	// write it again (Credits 0, nothing sent to estimate it); ReusedRun
	// is the run that exported it, ReusedRows the rows it wrote (Total
	// and Reachable are 0: nothing is asked).
	Reused     bool   `json:"reused,omitempty"`
	ReusedRun  string `json:"reused_run,omitempty"`
	ReusedRows int64  `json:"reused_rows,omitempty"`

	// Plan is the export's plan, for those who read it in Go.
	Plan *pager.Plan `json:"-"`
}

// RunEstimate is the estimate of a run of several queries.
type RunEstimate struct {
	Queries           int         `json:"query_count"`
	Balance           int64       `json:"balance"`
	Total             int         `json:"total"`
	Reachable         int         `json:"reachable"`
	Pages             int         `json:"pages"`
	Credits           int64       `json:"credits"`
	RPS               float64     `json:"rps"`
	Seconds           float64     `json:"seconds"`
	EstimateCost      int64       `json:"estimate_cost"`
	BalanceAfter      int64       `json:"balance_after"`
	Budget            int64       `json:"budget,omitempty"`
	KeepBalance       int64       `json:"keep_balance,omitempty"`
	FitsBudget        bool        `json:"fits_budget"`
	AffordableCredits int64       `json:"affordable_credits"`
	Failed            int         `json:"failed,omitempty"`
	Reused            int         `json:"queries_reused,omitempty"`
	List              []*Estimate `json:"queries"`
}

// Estimate tells what Export would cost, without exporting: the balance
// (Run.Balance, free), then for each query its total with a request of
// size 1 (1 credit) and, past the wall, its slices with the probes the
// export would send (a credit each), planned by the same code as the
// export (pager.Pager.Estimate); a method that is not paged is priced
// without asking (pager.PlanWhole). It writes nothing. A query that fails
// is reported in its line when there are several.
func (r *Run) Estimate(ctx context.Context) (*RunEstimate, error) {
	if err := r.planQueries(false); err != nil {
		return nil, err
	}
	s, log := r.Settings, r.logger()
	if len(s.Queries) == 0 {
		return nil, &serpstat.ParamError{Field: "query", Msg: "is required: the domain to analyse, e.g. --query example.com (or --queries-file FILE)"}
	}
	var state *State
	if s.Incremental != "" {
		if m := r.descriptor(); m.Cursor == nil {
			return nil, usagef("--incremental: %s has no first-seen-like date to follow, so it cannot be loaded incrementally", m.Name)
		}
		var err error
		if state, err = LoadState(ctx, s.Incremental, s.s3(), r.descriptor()); err != nil {
			return nil, err
		}
	}
	var bal int64
	if r.Balance != nil {
		var err error
		if bal, err = r.Balance(ctx); err != nil {
			return nil, err
		}
	}
	// The probes are what an estimate costs; --budget is the export's.
	spend := pager.NewBudget(0)
	if r.Budget != nil {
		spend = r.Budget
	}
	sess := pager.Session{Budget: spend, Stop: r.Stop}
	run := &RunEstimate{Queries: len(s.Queries), Balance: bal, RPS: s.RPS, Budget: s.Budget, KeepBalance: s.KeepBalance}
	done := r.recordedDone(ctx)
	for _, q := range s.Queries {
		if f := done[q]; f != nil {
			run.Reused++
			run.List = append(run.List, &Estimate{Method: r.descriptor().Name, Query: q, SearchType: f.Params.SearchType,
				Reused: true, ReusedRun: f.Run, ReusedRows: f.Rows})
			continue
		}
		before := spend.Spent()
		e, err := r.estimateQuery(ctx, sess, q, state)
		if err != nil {
			if len(s.Queries) == 1 || Fatal(ctx, err) {
				return nil, err
			}
			log.Error("query failed", "query", q, "error", err)
			e = &Estimate{Query: q, SearchType: r.Pager.Params().SearchType, Error: err.Error()}
			run.Failed++
		}
		e.EstimateCost = spend.Spent() - before
		run.List = append(run.List, e)
		run.Total += e.Total
		run.Reachable += e.Reachable
		run.Pages += e.Pages
		run.Credits += e.Credits
		run.Seconds += e.Seconds
	}
	run.EstimateCost = spend.Spent()
	run.BalanceAfter = bal - run.EstimateCost - run.Credits
	run.AffordableCredits = affordable(bal, run.EstimateCost, s)
	run.FitsBudget = run.Credits <= run.AffordableCredits
	for _, e := range run.List {
		e.Balance = bal
		if e.Error == "" && !e.Reused {
			e.AffordableCredits = affordable(bal, e.EstimateCost, s)
			e.FitsBudget = e.Credits <= e.AffordableCredits
			e.BalanceAfter = bal - e.EstimateCost - e.Credits
		}
	}
	return run, nil
}

// affordable is what the export may spend: the balance less what the
// estimate spent and --keep-balance, at most --budget.
func affordable(bal, spent int64, s Settings) int64 {
	a := bal - spent
	if s.KeepBalance > 0 {
		a -= s.KeepBalance
	}
	if s.Budget > 0 {
		a = min(a, s.Budget)
	}
	return max(0, a)
}

// estimateQuery probes one query, as export would ask for it: for an
// incremental load, only the rows first seen since the state's newest day.
func (r *Run) estimateQuery(ctx context.Context, sess pager.Session, q string, state *State) (*Estimate, error) {
	s := r.Settings
	if err := serpstat.ValidateQueryFor(r.Pager.Params().SearchType, q); err != nil {
		return nil, err
	}
	params, prev, err := r.queryParams(q, state)
	if err != nil {
		return nil, err
	}
	p := r.pagerFor(q, params)
	if !p.Method().Paged() {
		return r.estimateWhole(p), nil
	}
	pg, err := p.Probe(ctx, sess, params, 1)
	if err != nil {
		return nil, err
	}
	total := int(pg.Summary.Total)
	unknown := total < 0 && len(pg.Rows) >= 1
	total = max(total, len(pg.Rows))
	plan, err := p.Estimate(ctx, sess, total, unknown, s.NoSlice, pager.SliceOptions{})
	if err != nil {
		return nil, err
	}
	e := &Estimate{
		Method:        p.Method().Name,
		Query:         q,
		SearchType:    params.SearchType,
		Params:        params.Extra,
		LinkPerDomain: params.LinkPerDomain,
		Total:         plan.Total,
		TotalUnknown:  unknown,
		Reachable:     plan.Reachable(),
		Unreachable:   plan.Unreachable + plan.InDoubt,
		MaxRows:       s.MaxRows,
		Size:          plan.Size,
		Pages:         plan.Pages() + 1,
		PagePlan:      plan.Describe(),
		Credits:       plan.Cost(),
		Guard:         plan.Guard(),
		RPS:           s.RPS,
		Budget:        s.Budget,
		KeepBalance:   s.KeepBalance,
		ProbeCredits:  plan.ProbeCredits,
		InDoubt:       plan.InDoubt,
		Plan:          plan,
	}
	if s.RPS > 0 {
		e.Seconds = float64(e.Pages) / s.RPS
	}
	for _, ne := range plan.NoEffect {
		e.NoEffect = append(e.NoEffect, ne.String())
	}
	if plan.Sliced {
		e.Slices = len(plan.Parts)
	}
	if state != nil {
		e.Incremental = true
		if prev != nil {
			e.Since = prev.Newest
			e.AlreadyExported = min(len(prev.Boundary), e.Reachable)
		}
		e.NewRows = max(0, e.Reachable-e.AlreadyExported)
	}
	return e, nil
}

// estimateWhole is the estimate of a query of a method that is not
// paged (p's): its one request at the method's price, asked of no one.
func (r *Run) estimateWhole(p *pager.Pager) *Estimate {
	s := r.Settings
	plan := pager.PlanWhole(p.Method(), p.Params())
	e := &Estimate{
		Method:       p.Method().Name,
		Query:        p.Params().Query,
		SearchType:   p.Params().SearchType,
		Total:        plan.Total,
		TotalUnknown: plan.TotalUnknown,
		Reachable:    plan.Reachable(),
		Pages:        1,
		PagePlan:     plan.Describe(),
		Credits:      plan.Cost(),
		Guard:        plan.Guard(),
		RPS:          s.RPS,
		Budget:       s.Budget,
		KeepBalance:  s.KeepBalance,
		NotPaged:     true,
		Plan:         plan,
	}
	if s.RPS > 0 {
		e.Seconds = 1 / s.RPS
	}
	return e
}
