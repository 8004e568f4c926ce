package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/serpstat-export/serpstat-export/pager"
)

const estimateHelp = `Usage: serpstat-export estimate --query DOMAIN [flags]

Tells what an export would cost before paying for it: the account's balance
(getStats, free), the query's total (one request of size 1: 1 credit), the
rows reachable under the 60,000-row wall, the pages, the credits and the
time at --rps. It takes the same flags and config as export and writes no
output file.

Examples:
  serpstat-export estimate --query example.com
  serpstat-export estimate --query example.com --max-rows 20000 --rps 10 --json

Flags:
`

// estimate is what `estimate` prints; its JSON form is a contract with
// scripts.
type estimate struct {
	Query             string  `json:"query"`
	SearchType        string  `json:"search_type"`
	Balance           int64   `json:"balance"`
	Total             int     `json:"total"`
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
}

func runEstimate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("estimate", stderr, estimateHelp)
	asJSON := fs.Bool("json", false, "print one JSON object, for scripts")
	s, u, err, code, done := parseSettings(fs, args, stderr)
	if done {
		return code
	}
	est, err := doEstimate(ctx, s, err, u)
	code = exitCode(ctx, err)
	if err != nil {
		u.finish(s, newSummary(u.runID, "estimate", nil, err, code), nil, err)
		return code
	}
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(est); err != nil {
			return exitFailure
		}
		return exitOK
	}
	printEstimate(stdout, est)
	return exitOK
}

func doEstimate(ctx context.Context, s settings, loadErr error, u *ui) (*estimate, error) {
	if loadErr != nil {
		return nil, loadErr
	}
	queries, err := queryList(s, nil)
	if err != nil {
		return nil, err
	}
	if len(queries) > 1 {
		return nil, usagef("estimate takes one query; got %d", len(queries))
	}
	s.Query = queries[0]
	j, err := prepare(s, u)
	if err != nil {
		return nil, err
	}
	bal, err := j.balance(ctx)
	if err != nil {
		return nil, err
	}
	plan, err := j.pager.Probe(ctx)
	if err != nil {
		return nil, err
	}
	var sp *pager.SlicePlan
	if plan.Unreachable > 0 && !s.NoSlice && (s.MaxRows == 0 || s.MaxRows > plan.Wall) {
		// Plan the slices with size-1 probes: a credit each.
		if sp, err = j.pager.PlanSlices(ctx, plan.Total, time.Now(), nil, true); err != nil {
			return nil, err
		}
	}
	cost := j.pager.Budget.Spent()
	e := &estimate{
		Query:        j.pager.Params.Query,
		SearchType:   j.pager.Params.SearchType,
		Balance:      bal,
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
		EstimateCost: cost,
		BalanceAfter: bal - cost - plan.Cost(),
		Budget:       s.Budget,
		KeepBalance:  s.KeepBalance,
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
		e.BalanceAfter = bal - cost - e.Credits
	}
	e.AffordableCredits = bal - cost
	if s.KeepBalance > 0 {
		e.AffordableCredits -= s.KeepBalance
	}
	if s.Budget > 0 {
		e.AffordableCredits = min(e.AffordableCredits, s.Budget)
	}
	e.AffordableCredits = max(0, e.AffordableCredits)
	e.FitsBudget = e.Credits <= e.AffordableCredits
	return e, nil
}

func printEstimate(w io.Writer, e *estimate) {
	fmt.Fprintf(w, "query:            %s (%s)\n", e.Query, e.SearchType)
	fmt.Fprintf(w, "account balance:  %d credits\n", e.Balance)
	fmt.Fprintf(w, "total rows:       %d\n", e.Total)
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
	if e.Budget > 0 || e.KeepBalance > 0 {
		if e.FitsBudget {
			fmt.Fprintf(w, "budget:           fits (%d credits allowed)\n", e.AffordableCredits)
		} else {
			fmt.Fprintf(w, "budget:           does NOT fit: %d credits allowed, %d needed (--partial exports what fits)\n", e.AffordableCredits, e.Credits)
		}
	}
	if e.EstimateCost == 1 {
		fmt.Fprintln(w, "this estimate cost 1 credit (one request of size 1; getStats is free)")
	} else {
		fmt.Fprintf(w, "this estimate cost %d credits (requests of size 1 to learn the total and plan the slices; getStats is free)\n", e.EstimateCost)
	}
}
