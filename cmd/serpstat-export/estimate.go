package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/lake"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

const estimateHelp = `Usage: serpstat-export estimate --query DOMAIN | --config FILE [flags]

Tells what an export would cost before paying for it: the account's balance
(getStats, free), each query's total (one request of size 1: 1 credit a
query), the rows reachable under the 60,000-row wall, the pages, the credits
and the time at --rps, and the run's total. It takes the same flags and
config as export (--config, --queries-file, repeated --query, --incremental:
then the new rows and the boundary day the state says are counted), and
writes no output, summary or state. With --budget or --keep-balance, an
export that does not fit exits 3, so a scheduler can gate on it.

Examples:
  serpstat-export estimate --query example.com
  serpstat-export estimate --query example.com --max-rows 20000 --rps 10 --json
  serpstat-export estimate --config nightly.yaml --budget 50000 && \
      serpstat-export export --config nightly.yaml

Flags:
`

// estimate is what `estimate` prints; its JSON form is a contract with
// scripts.
type estimate struct {
	Method            string  `json:"method"`
	Query             string  `json:"query"`
	SearchType        string  `json:"search_type"`
	Balance           int64   `json:"balance"`
	Total             int     `json:"total"`
	TotalUnknown      bool    `json:"total_unknown,omitempty"` // the API did not tell it: Total is the wall, an upper bound
	Reachable         int     `json:"reachable"`
	Unreachable       int     `json:"unreachable"`
	MaxRows           int     `json:"max_rows,omitempty"`
	Size              int     `json:"size"`
	Pages             int     `json:"pages"`
	PagePlan          string  `json:"page_plan"` // how the pages are asked, e.g. "3 pages of 879 rows, then 1 of 586" with --max-rows
	Credits           int64   `json:"credits"`
	RPS               float64 `json:"rps"`
	Seconds           float64 `json:"seconds"`
	EstimateCost      int64   `json:"estimate_cost"`
	BalanceAfter      int64   `json:"balance_after"`
	Budget            int64   `json:"budget,omitempty"`
	KeepBalance       int64   `json:"keep_balance,omitempty"`
	FitsBudget        bool    `json:"fits_budget"`
	AffordableCredits int64   `json:"affordable_credits"`
	Slices            int     `json:"slices"`
	ProbeCredits      int64   `json:"probe_credits"`
	// Incremental loads: the rows first seen on or after Since, of which
	// AlreadyExported (the boundary day) are paid for again and dropped.
	Incremental     bool   `json:"incremental,omitempty"`
	Since           string `json:"since,omitempty"`
	NewRows         int    `json:"new_rows,omitempty"`
	AlreadyExported int    `json:"already_exported,omitempty"`
	Error           string `json:"error,omitempty"`
}

// runEstimate is the estimate of a run of several queries.
type runEstimate struct {
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
	List              []*estimate `json:"queries"`
}

func runEstimateCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("estimate", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON, for scripts: one query's object, or for several a run's credits and a queries list")
	s, u, err, code, done := parseSettings(fs, args, estimateHelp, stdout, stderr)
	if done {
		return code
	}
	s.SummaryJSON = "" // an estimate writes nothing
	run, err := doEstimate(ctx, s, err, stdin, u)
	code = exitCode(ctx, err)
	if err != nil {
		u.finish(s, lake.NewSummary(u.runID, "estimate", statusOf[code], code, nil, err, time.Since(u.start)), nil, err)
		return code
	}
	single := len(run.List) == 1
	switch {
	case *asJSON && single:
		err = json.NewEncoder(stdout).Encode(run.List[0])
	case *asJSON:
		err = json.NewEncoder(stdout).Encode(run)
	case single:
		printEstimate(stdout, run.List[0])
	default:
		printRunEstimate(stdout, run)
	}
	if err != nil {
		return exitFailure
	}
	if (s.Budget > 0 || s.KeepBalance > 0) && !run.FitsBudget {
		fmt.Fprintf(stderr, "serpstat-export estimate: the export needs %d credits, more than the %d that --budget / --keep-balance allow (exit 3)\n", run.Credits, run.AffordableCredits)
		return exitBudget
	}
	if run.Failed > 0 {
		return exitFailure
	}
	return exitOK
}

// doEstimate estimates every query of the run with a size-1 probe each
// (and the size-1 probes of slicing, for a query past the wall).
func doEstimate(ctx context.Context, s settings, loadErr error, stdin io.Reader, u *ui) (*runEstimate, error) {
	if loadErr != nil {
		return nil, loadErr
	}
	queries, err := queryList(s, stdin)
	if err != nil {
		return nil, err
	}
	budget := s.Budget
	s.Budget = 0 // the probes are what an estimate costs; --budget is the export's
	s.Query = queries[0]
	if len(queries) > 1 {
		s.Query = "example.com" // the other params are checked with it
	}
	j, err := prepare(s, u)
	if err != nil {
		return nil, err
	}
	if err := j.connect(ctx); err != nil {
		return nil, err
	}
	defer j.disconnect()
	s.Budget = budget
	var state *lake.State
	if s.Incremental != "" {
		if state, err = lake.LoadState(ctx, s.Incremental, s.s3(), j.method); err != nil {
			return nil, err
		}
	}
	bal, err := j.balance(ctx)
	if err != nil {
		return nil, err
	}
	run := &runEstimate{Queries: len(queries), Balance: bal, RPS: s.RPS, Budget: s.Budget, KeepBalance: s.KeepBalance}
	for _, q := range queries {
		before := j.pager.Budget.Spent()
		e, err := estimateQuery(ctx, j, s, q, state)
		if err != nil {
			if len(queries) == 1 || lake.Fatal(ctx, err) {
				return nil, err
			}
			u.log.Error("query failed", "query", q, "error", err)
			e = &estimate{Query: q, SearchType: s.SearchType, Error: plainMessage(err.Error())}
			run.Failed++
		}
		e.EstimateCost = j.pager.Budget.Spent() - before
		run.List = append(run.List, e)
		run.Total += e.Total
		run.Reachable += e.Reachable
		run.Pages += e.Pages
		run.Credits += e.Credits
		run.Seconds += e.Seconds
	}
	run.EstimateCost = j.pager.Budget.Spent()
	run.BalanceAfter = bal - run.EstimateCost - run.Credits
	run.AffordableCredits = affordable(bal, run.EstimateCost, s)
	run.FitsBudget = run.Credits <= run.AffordableCredits
	for _, e := range run.List {
		e.Balance = bal
		if e.Error == "" {
			e.AffordableCredits = affordable(bal, e.EstimateCost, s)
			e.FitsBudget = e.Credits <= e.AffordableCredits
			e.BalanceAfter = bal - e.EstimateCost - e.Credits
		}
	}
	return run, nil
}

// affordable is what the export may spend: the balance less what the
// estimate spent and --keep-balance, at most --budget.
func affordable(bal, spent int64, s settings) int64 {
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
func estimateQuery(ctx context.Context, j *job, s settings, q string, state *lake.State) (*estimate, error) {
	if err := serpstat.ValidateQuery(q); err != nil {
		return nil, err
	}
	params := j.pager.Params
	params.Query = q
	var prev *lake.QueryState
	if state != nil {
		prev = state.Queries[q]
		if prev != nil && prev.Newest != "" {
			c, err := prev.Since(j.method)
			if err != nil {
				return nil, err
			}
			params.ComplexFilter = lake.AndInto(params.ComplexFilter, c)
		}
	}
	p := j.pagerFor(params)
	plan, err := p.Probe(ctx)
	if err != nil {
		return nil, err
	}
	var sp *pager.SlicePlan
	if p.ShouldSlice(plan, s.NoSlice) {
		// Plan the slices with size-1 probes: a credit each.
		if sp, err = p.PlanSlices(ctx, plan.Total, time.Now(), nil, true); err != nil {
			return nil, err
		}
	}
	e := &estimate{
		Method:       p.Method.Name,
		Query:        q,
		SearchType:   params.SearchType,
		Total:        plan.Total,
		Reachable:    plan.Reachable,
		Unreachable:  plan.Unreachable,
		MaxRows:      s.MaxRows,
		Size:         plan.Size,
		Pages:        plan.Pages,
		PagePlan:     plan.Describe(),
		Credits:      plan.Cost(),
		RPS:          s.RPS,
		Seconds:      float64(plan.Pages) / s.RPS,
		Budget:       s.Budget,
		KeepBalance:  s.KeepBalance,
		TotalUnknown: plan.TotalUnknown,
	}
	if state != nil {
		e.Incremental = true
		if prev != nil {
			e.Since = prev.Newest
			e.AlreadyExported = min(len(prev.Boundary), plan.Reachable)
		}
		e.NewRows = max(0, e.Reachable-e.AlreadyExported)
	}
	if sp != nil {
		reach := sp.Reachable(plan.Wall)
		if s.MaxRows > 0 {
			reach = min(reach, s.MaxRows)
		}
		pages := 0
		for _, sl := range sp.Slices {
			pages += (min(sl.Total, plan.Wall) + plan.Size - 1) / plan.Size
		}
		e.Slices = len(sp.Slices)
		e.Reachable = reach
		e.Unreachable = plan.Total - sp.Reachable(plan.Wall)
		e.Pages = pages + 1 + sp.Probes
		e.PagePlan = fmt.Sprintf("page 1, %d probes, then %d pages of at most %d rows", sp.Probes, pages, plan.Size)
		// The export asks page 1 of the whole query, then probes the
		// slices as this estimate did (at most a page each).
		e.ProbeCredits = int64(plan.Size) + int64(sp.Probes)
		e.Credits = int64(reach) + e.ProbeCredits
		e.Seconds = float64(e.Pages) / s.RPS
	}
	return e, nil
}

func printEstimate(w io.Writer, e *estimate) {
	if e.Method != "" && e.Method != backlinks.NewBacklinks.Name {
		fmt.Fprintf(w, "method:           %s\n", e.Method)
	}
	fmt.Fprintf(w, "query:            %s (%s)\n", e.Query, e.SearchType)
	fmt.Fprintf(w, "account balance:  %d credits\n", e.Balance)
	if e.TotalUnknown {
		fmt.Fprintf(w, "total rows:       unknown (the API did not tell it); at most %d reachable\n", e.Total)
	} else {
		fmt.Fprintf(w, "total rows:       %d\n", e.Total)
	}
	if e.Incremental && e.Since != "" {
		fmt.Fprintf(w, "incremental:      first seen on or after %s: %d new rows, %d of that day already exported (paid for again, not written)\n", e.Since, e.NewRows, e.AlreadyExported)
	}
	fmt.Fprintf(w, "reachable rows:   %d", e.Reachable)
	if e.Unreachable > 0 {
		fmt.Fprintf(w, " (%d past the API's 60,000-row wall)", e.Unreachable)
	}
	if e.MaxRows > 0 && e.MaxRows < e.Total {
		fmt.Fprintf(w, " (--max-rows %d)", e.MaxRows)
	}
	fmt.Fprintln(w)
	if e.Slices > 0 {
		fmt.Fprintf(w, "slices:           %d, to get past the 60,000-row wall (about %d credits of page 1 and probes)\n", e.Slices, e.ProbeCredits)
	}
	fmt.Fprintf(w, "pages:            %d of %d rows\n", e.Pages, e.Size)
	if e.MaxRows > 0 && e.PagePlan != fmt.Sprintf("%d pages of %d rows", e.Pages, e.Size) {
		fmt.Fprintf(w, "page plan:        %s (every row billed is a row wanted)\n", e.PagePlan)
	}
	fmt.Fprintf(w, "export cost:      %d credits (balance after: %d)\n", e.Credits, e.BalanceAfter)
	fmt.Fprintf(w, "%-18s%s\n", fmt.Sprintf("time at %g req/s:", e.RPS), (time.Duration(e.Seconds * float64(time.Second))).Round(time.Second))
	printFits(w, e.Budget, e.KeepBalance, e.FitsBudget, e.AffordableCredits, e.Credits)
	if e.EstimateCost == 1 {
		fmt.Fprintln(w, "this estimate cost 1 credit (one request of size 1; getStats is free)")
	} else {
		fmt.Fprintf(w, "this estimate cost %d credits (requests of size 1 to learn the total and plan the slices; getStats is free)\n", e.EstimateCost)
	}
}

func printFits(w io.Writer, budget, keep int64, fits bool, allowed, needed int64) {
	if budget == 0 && keep == 0 {
		return
	}
	if fits {
		fmt.Fprintf(w, "budget:           fits (%d credits allowed)\n", allowed)
	} else {
		fmt.Fprintf(w, "budget:           does NOT fit: %d credits allowed, %d needed (--partial exports what fits)\n", allowed, needed)
	}
}

// printRunEstimate prints a table: a line a query, then the run's total.
func printRunEstimate(w io.Writer, r *runEstimate) {
	fmt.Fprintf(w, "account balance:  %d credits\n\n", r.Balance)
	fmt.Fprintf(w, "%-32s %10s %10s %8s %10s  %s\n", "QUERY", "TOTAL", "ROWS", "PAGES", "CREDITS", "NOTE")
	for _, e := range r.List {
		note := ""
		switch {
		case e.Error != "":
			note = "failed: " + e.Error
		case e.Incremental && e.Since != "":
			note = fmt.Sprintf("since %s: %d new, %d already exported", e.Since, e.NewRows, e.AlreadyExported)
		case e.Incremental:
			note = "first load"
		}
		if e.Slices > 0 {
			note = strings.TrimSpace(fmt.Sprintf("%s %d slices", note, e.Slices))
		}
		if e.Unreachable > 0 {
			note = strings.TrimSpace(fmt.Sprintf("%s %d past the wall", note, e.Unreachable))
		}
		fmt.Fprintf(w, "%-32s %10d %10d %8d %10d  %s\n", e.Query, e.Total, e.Reachable, e.Pages, e.Credits, note)
	}
	fmt.Fprintf(w, "%-32s %10d %10d %8d %10d\n\n", fmt.Sprintf("total (%d queries)", r.Queries), r.Total, r.Reachable, r.Pages, r.Credits)
	fmt.Fprintf(w, "export cost:      %d credits (balance after: %d)\n", r.Credits, r.BalanceAfter)
	fmt.Fprintf(w, "%-18s%s\n", fmt.Sprintf("time at %g req/s:", r.RPS), (time.Duration(r.Seconds * float64(time.Second))).Round(time.Second))
	printFits(w, r.Budget, r.KeepBalance, r.FitsBudget, r.AffordableCredits, r.Credits)
	fmt.Fprintf(w, "this estimate cost %d credits (a request of size 1 a query, more for a query past the wall; getStats is free)\n", r.EstimateCost)
}
