package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/lake"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

const estimateHelp = `Usage: serpstat-export estimate --query DOMAIN | --config FILE [flags]

Tells what an export would cost before paying for it: the account's balance
(getStats, free), each query's total (one request of size 1: 1 credit a
query), the rows reachable under the 60,000-row wall, the pages, the credits
and the time at --rps, and the run's total. A method that is not paged
(summary-v2, distribution-tld, ...) is priced without asking: its price a
query, nothing spent. It takes the same flags and
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

// doEstimate estimates every query of the run in the lake (lake.Run.Estimate):
// a size-1 probe each, and the size-1 probes of slicing for a query past
// the wall.
func doEstimate(ctx context.Context, s settings, loadErr error, stdin io.Reader, u *ui) (*lake.RunEstimate, error) {
	if loadErr != nil {
		return nil, loadErr
	}
	plan, err := planQueries(s, stdin)
	if err != nil {
		return nil, err
	}
	queries := plan.Queries
	budget := s.Budget
	s.Budget = 0 // the probes are what an estimate costs; --budget is the export's
	// The other params are checked with the first query.
	s.Query = queries[0]
	j, err := prepare(s, u)
	if err != nil {
		return nil, err
	}
	j.estimating = true
	if err := j.start(ctx); err != nil {
		return nil, err
	}
	defer j.disconnect()
	j.s.Budget = budget
	run := j.lakeRun(queries, nil, io.Discard)
	run.Duplicates = plan.Duplicates
	return run.Estimate(ctx)
}

func printEstimate(w io.Writer, e *lake.Estimate) {
	if e.Method != "" && e.Method != backlinks.NewBacklinks.Name {
		fmt.Fprintf(w, "method:           %s\n", e.Method)
	}
	fmt.Fprintf(w, "query:            %s (%s)\n", e.Query, e.SearchType)
	if ps := estimateParams(e); ps != "" {
		fmt.Fprintf(w, "params:           %s\n", ps)
	}
	fmt.Fprintf(w, "account balance:  %d credits\n", e.Balance)
	if e.NotPaged {
		printWholeEstimate(w, e)
		return
	}
	if e.TotalUnknown {
		fmt.Fprintf(w, "total rows:       unknown (the API did not tell it); at most %d reachable\n", e.Total)
	} else {
		fmt.Fprintf(w, "total rows:       %d\n", e.Total)
	}
	if e.Incremental && e.Since != "" {
		fmt.Fprintf(w, "incremental:      first seen on or after %s: %d new rows, %d of that day already exported (paid for again, not written)\n", e.Since, e.NewRows, e.AlreadyExported)
	}
	fmt.Fprintf(w, "reachable rows:   %d", e.Reachable)
	if n := e.Unreachable - e.InDoubt; n > 0 {
		fmt.Fprintf(w, " (%d past the API's %d-row wall)", n, e.Plan.Wall)
	}
	if e.InDoubt > 0 {
		fmt.Fprintf(w, " (%d IN DOUBT: slicing filters without effect: %s; the export would stop with them in doubt, exit 1)", e.InDoubt, strings.Join(e.NoEffect, "; "))
	}
	if e.MaxRows > 0 && e.MaxRows < e.Total {
		fmt.Fprintf(w, " (--max-rows %d)", e.MaxRows)
	}
	fmt.Fprintln(w)
	if e.Slices > 0 {
		fmt.Fprintf(w, "slices:           %d, to get past the %d-row wall (%d probe credits; page 1's rows are reused)\n", e.Slices, e.Plan.Wall, e.ProbeCredits)
	}
	fmt.Fprintf(w, "pages:            %d of %d rows\n", e.Pages, e.Size)
	if e.MaxRows > 0 && e.PagePlan != fmt.Sprintf("%d pages of %d rows", e.Pages, e.Size) {
		fmt.Fprintf(w, "page plan:        %s (every row billed is a row wanted)\n", e.PagePlan)
	}
	fmt.Fprintf(w, "export cost:      %d credits (balance after: %d)\n", e.Credits, e.BalanceAfter)
	fmt.Fprintf(w, "spend guard:      at most %d credits, whatever the API answers\n", e.Guard)
	fmt.Fprintf(w, "%-18s%s\n", fmt.Sprintf("time at %g req/s:", e.RPS), (time.Duration(e.Seconds * float64(time.Second))).Round(time.Second))
	printFits(w, e.Budget, e.KeepBalance, e.FitsBudget, e.AffordableCredits, e.Credits)
	if e.EstimateCost == 1 {
		fmt.Fprintln(w, "this estimate cost 1 credit (one request of size 1; getStats is free)")
	} else {
		fmt.Fprintf(w, "this estimate cost %d credits (requests of size 1 to learn the total and plan the slices; getStats is free)\n", e.EstimateCost)
	}
}

// printWholeEstimate prints the rest of the estimate of a method that
// is not paged: its one request's price, known without asking.
func printWholeEstimate(w io.Writer, e *lake.Estimate) {
	m := backlinks.Lookup(e.Method)
	fmt.Fprintf(w, "not paged:        one request a query, %s\n", m.PriceText())
	if e.TotalUnknown {
		fmt.Fprintln(w, "rows:             as many as the answer holds (it tells)")
	} else {
		fmt.Fprintf(w, "rows:             %d\n", e.Total)
	}
	fmt.Fprintf(w, "export cost:      %d credits (balance after: %d)\n", e.Credits, e.BalanceAfter)
	fmt.Fprintf(w, "%-18s%s\n", fmt.Sprintf("time at %g req/s:", e.RPS), (time.Duration(e.Seconds * float64(time.Second))).Round(time.Second))
	printFits(w, e.Budget, e.KeepBalance, e.FitsBudget, e.AffordableCredits, e.Credits)
	fmt.Fprintln(w, "this estimate cost 0 credits (the price of a method that is not paged is known without asking; getStats is free)")
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
func printRunEstimate(w io.Writer, r *lake.RunEstimate) {
	for _, e := range r.List { // the same for every query that was asked
		if ps := estimateParams(e); ps != "" {
			fmt.Fprintf(w, "params:           %s\n", ps)
			break
		}
	}
	fmt.Fprintf(w, "account balance:  %d credits\n\n", r.Balance)
	fmt.Fprintf(w, "%-32s %10s %10s %8s %10s  %s\n", "QUERY", "TOTAL", "ROWS", "PAGES", "CREDITS", "NOTE")
	for _, e := range r.List {
		note := ""
		switch {
		case e.Error != "":
			note = "failed: " + e.Error
		case e.Reused:
			note = fmt.Sprintf("done by run %s (run record, %d rows): reused, not bought again", e.ReusedRun, e.ReusedRows)
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
		total, rows := strconv.Itoa(e.Total), strconv.Itoa(e.Reachable)
		if e.Reused {
			total, rows = "-", "-"
		}
		if e.NotPaged {
			note = strings.TrimSpace("not paged " + note)
			if e.TotalUnknown {
				total, rows = "-", "-"
			}
		}
		fmt.Fprintf(w, "%-32s %10s %10s %8d %10d  %s\n", e.Query, total, rows, e.Pages, e.Credits, note)
	}
	fmt.Fprintf(w, "%-32s %10d %10d %8d %10d\n\n", fmt.Sprintf("total (%d queries)", r.Queries), r.Total, r.Reachable, r.Pages, r.Credits)
	fmt.Fprintf(w, "export cost:      %d credits (balance after: %d)\n", r.Credits, r.BalanceAfter)
	fmt.Fprintf(w, "%-18s%s\n", fmt.Sprintf("time at %g req/s:", r.RPS), (time.Duration(r.Seconds * float64(time.Second))).Round(time.Second))
	printFits(w, r.Budget, r.KeepBalance, r.FitsBudget, r.AffordableCredits, r.Credits)
	if len(r.List) > 0 && r.List[0].NotPaged {
		fmt.Fprintf(w, "this estimate cost %d credits (the price of a method that is not paged is known without asking; getStats is free)\n", r.EstimateCost)
		return
	}
	fmt.Fprintf(w, "this estimate cost %d credits (a request of size 1 a query, more for a query past the wall; getStats is free)\n", r.EstimateCost)
}

// estimateParams are the params an estimate asked with beyond the query:
// linkPerDomain and the method's own (--param), as NAME=VALUE pairs.
func estimateParams(e *lake.Estimate) string {
	var pairs []string
	if e.LinkPerDomain != nil {
		pairs = append(pairs, "linkPerDomain="+strconv.Itoa(*e.LinkPerDomain))
	}
	for _, k := range slices.Sorted(maps.Keys(e.Params)) {
		pairs = append(pairs, k+"="+e.Params[k])
	}
	return strings.Join(pairs, ", ")
}
