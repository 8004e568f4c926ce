package lake

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/pager"
)

// printReport writes what a run did and what it cost: the summary's
// counts, with the details of the query's exporter report.
func printReport(w io.Writer, s *Summary) {
	runID, res := s.RunID, s.res
	if res != nil && res.multi {
		printMulti(w, s)
		return
	}
	rep := res.Report()
	if rep != nil && rep.Plan.Pages > 0 {
		state := "done"
		switch {
		case rep.Partial:
			state = "partial (as --partial asked)"
		case !rep.Complete:
			state = "stopped"
		}
		fmt.Fprintf(w, "serpstat-export: %s (run %s): %d rows, %d pages, %d credits billed, %s, %.0f rows/s\n",
			state, runID, s.Rows, s.Pages, s.CreditsBilled, rep.Elapsed.Round(time.Millisecond), s.RowsPerSecond)
		if d := s.AlreadyExported; d > 0 {
			fmt.Fprintf(w, "  incremental: %d rows of the boundary day were already exported (paid for again, not written)\n", d)
		}
		if o := s.OlderThanCursor; o > 0 {
			fmt.Fprintf(w, "  incremental: %d rows older than the cursor were answered (the API did not apply the cursor filter) and not written\n", o)
		}
		switch {
		case rep.NotPaged:
			fmt.Fprintf(w, "  query %s: %d rows in one answer (%s is not paged)\n", rep.Query, rep.Rows, rep.Method)
		case rep.Sliced:
			fmt.Fprintf(w, "  query %s: total %d, reachable %d in %d slices, pages of %d rows\n",
				rep.Query, rep.Plan.Total, rep.Plan.Reachable, len(rep.Slices), rep.Plan.Size)
		default:
			fmt.Fprintf(w, "  query %s: total %d, reachable %d, %d planned pages of %d rows\n",
				rep.Query, rep.Plan.Total, rep.Plan.Reachable, rep.Plan.Pages, rep.Plan.Size)
		}
		if rep.CreditsEarlier > 0 || rep.Attempts > 1 {
			// A resume: this attempt's bill, the earlier ones', and the
			// export in all, which is what the estimate is of.
			earlier := "1 earlier attempt"
			if rep.Attempts > 2 {
				earlier = fmt.Sprintf("%d earlier attempts", rep.Attempts-1)
			}
			fmt.Fprintf(w, "  credits: estimated %d for the whole export; billed %d by this attempt and %d by %s, %d in all",
				rep.CreditsEstimated, rep.Credits, rep.CreditsEarlier, earlier, rep.CreditsInAll)
			if rep.CreditsByBalance >= 0 {
				fmt.Fprintf(w, " (the balance dropped by %d during this attempt)", rep.CreditsByBalance)
			}
			if d := rep.Difference(); d != 0 && rep.Complete {
				fmt.Fprintf(w, ", %+d against the estimate (retried answers that were billed, surplus rows of a last page, empty pages, and requests in flight when an earlier attempt stopped, counted as billed)", d)
			}
		} else {
			fmt.Fprintf(w, "  credits: estimated %d, billed %d", rep.CreditsEstimated, rep.Credits)
			if rep.CreditsByBalance >= 0 {
				fmt.Fprintf(w, " (balance dropped by %d)", rep.CreditsByBalance)
			}
			if d := rep.Difference(); d != 0 && rep.Complete {
				fmt.Fprintf(w, ", difference %+d (retried answers that were billed, surplus rows of a last page, empty pages)", d)
			}
		}
		fmt.Fprintln(w)
		if rep.Cut > 0 {
			fmt.Fprintf(w, "  %d surplus rows of the last page were paid for and not written (--max-rows)\n", rep.Cut)
		}
		if rep.Resumed > 0 {
			fmt.Fprintf(w, "  resumed: %d pages came from the checkpoint, not paid for again\n", rep.Resumed)
		}
		if rep.DamagedPages > 0 {
			fmt.Fprintf(w, "  %d stored pages were damaged (cut short, edited or another page's content): not trusted, bought again\n", rep.DamagedPages)
		}
		if rep.LastTotal > 0 {
			fmt.Fprintf(w, "  the data changed while exporting: total %d at the start, %d later\n", rep.Plan.Total, rep.LastTotal)
		}
		if rep.Unkept > 0 {
			fmt.Fprintf(w, "  %d credits were spent on pages the checkpoint could not store (is the disk full?): a resume pays for them again\n", rep.Unkept)
		}
		if rep.Reread > 0 {
			fmt.Fprintf(w, "  %d rows were read again to repair shifts made by new rows\n", rep.Reread)
		}
		if rep.InDoubt > 0 {
			fmt.Fprintf(w, "  %d rows that existed at the start may be missing: the data changed while exporting and the re-reads could not prove them\n", rep.InDoubt)
		}
		if rep.Duplicates > 0 {
			fmt.Fprintf(w, "  %d rows repeated across a page boundary (new rows were inserted above them) were written once\n", rep.Duplicates)
		}
		if rep.Retries > 0 || rep.RateLimited > 0 {
			fmt.Fprintf(w, "  retries: %d (over-rate answers: %d)\n", rep.Retries, rep.RateLimited)
		}
		if rep.LeftLines >= 0 {
			fmt.Fprintf(w, "  account balance after the run: %d credits\n", rep.LeftLines)
		}
		if rep.Sliced {
			fmt.Fprintf(w, "  sliced past the %d-row wall into %d slices (%d probe requests, %d credits); slice totals add up to %d of the unsliced total %d\n",
				rep.Plan.Wall, len(rep.Slices), rep.Probes, rep.ProbeCredits, rep.SliceSum(), rep.Plan.Total)
			for _, sl := range rep.Slices {
				fmt.Fprintf(w, "    %-60s total %7d, written %7d", sl.Label, sl.Total, sl.Rows)
				switch {
				case sl.InDoubt:
					fmt.Fprintf(w, ", %d IN DOUBT (no slicing filter that partitions it is left)", sl.Unreachable)
				case sl.Unreachable > 0:
					fmt.Fprintf(w, ", %d out of reach (nothing splits it further)", sl.Unreachable)
				}
				if sl.Reused > 0 {
					fmt.Fprintf(w, ", %d of them page 1's", sl.Reused)
				}
				fmt.Fprintln(w)
			}
		}
		if rep.TotalUnknown {
			fmt.Fprintf(w, "  the API did not tell the total: pages were asked one after another until a short one; %d rows found\n", rep.Plan.Total)
		}
		if rep.SliceInDoubt > 0 {
			fmt.Fprintf(w, "  ROWS IN DOUBT: %d rows the plan could not prove it reaches; they are counted below as out of reach", rep.SliceInDoubt)
			switch {
			case len(rep.NoEffect) > 0:
				fmt.Fprintf(w, ": the API ignores a slicing filter, or applies it otherwise than documented: %s", noEffect(rep.NoEffect))
			case rep.APIWall > 0:
				fmt.Fprintf(w, ": the API stopped serving rows at %d", rep.APIWall)
			default:
				fmt.Fprint(w, ": the API answered otherwise than planned, and the export stopped at its spend guard")
			}
			fmt.Fprintf(w, "; %d credits spent of the %d the plan allows\n", rep.CreditsInAll, rep.Guard)
		}
		if rep.Unreachable > rep.SliceInDoubt {
			hint := "narrow the query with --filter to get them"
			if rep.NotSliced != "" {
				hint = "not sliced: " + rep.NotSliced
			}
			fmt.Fprintf(w, "  the API's %d-row wall: %d matching rows were out of reach (%s)\n", rep.Plan.Wall, rep.Unreachable-rep.SliceInDoubt, hint)
		}
		if rep.Partial {
			fmt.Fprintf(w, "  partial: %d of %d rows; the rest needs %d more credits\n", rep.Rows, rep.Plan.Reachable, rep.CreditsLeft)
		}
		if rep.Repaired > 0 {
			fmt.Fprintf(w, "  %d invalid UTF-8 sequences from the API were written as U+FFFD\n", rep.Repaired)
		}
	}
	printFiles(w, s)
}

func printFiles(w io.Writer, s *Summary) {
	res := s.res
	if res == nil {
		return
	}
	for _, f := range s.Outputs {
		if f.Path == "-" {
			continue
		}
		verb := "wrote"
		if f.Run != "" && f.Run != s.RunID {
			verb = "kept " // committed by an earlier run of the command, reused
		}
		fmt.Fprintf(w, "  %s %s (%s, %d rows", verb, f.Path, f.Format, f.Rows)
		if f.CellsGuarded > 0 {
			fmt.Fprintf(w, ", %d cells starting with = + - @ got a leading ', see --csv-raw", f.CellsGuarded)
		}
		if verb != "wrote" {
			fmt.Fprintf(w, ", written by run %s", f.Run)
		}
		fmt.Fprintln(w, ")")
	}
	if s.Manifest != "" {
		if res.success {
			fmt.Fprintf(w, "  wrote %s and _SUCCESS\n", s.Manifest)
		} else {
			fmt.Fprintf(w, "  wrote %s, and no _SUCCESS: not every query succeeded\n", s.Manifest)
		}
	}
}

// printMulti reports a run of several queries: a line a query, from the
// summary's.
func printMulti(w io.Writer, s *Summary) {
	byStatus := map[string]int{}
	for _, qs := range s.Queries {
		byStatus[qs.Status]++
	}
	fmt.Fprintf(w, "serpstat-export: %d queries (run %s): %d rows, %d credits billed", len(s.Queries)+s.QueriesNotStarted, s.RunID, s.Rows, s.CreditsBilled)
	if s.CreditsBilledInAll != s.CreditsBilled {
		fmt.Fprintf(w, " (%d in all attempts of the run)", s.CreditsBilledInAll)
	}
	if s.QueriesReused > 0 {
		fmt.Fprintf(w, ", %d reused", s.QueriesReused)
	}
	fmt.Fprintf(w, ", %d failed", byStatus[StatusFailed])
	for _, st := range []string{StatusStopped, StatusInterrupted} {
		if byStatus[st] > 0 {
			fmt.Fprintf(w, ", %d %s", byStatus[st], st)
		}
	}
	if s.QueriesNotStarted > 0 {
		fmt.Fprintf(w, ", %d not started", s.QueriesNotStarted)
	}
	fmt.Fprintln(w)
	for i, qs := range s.Queries {
		q := s.res.queries[i]
		switch {
		case q.Err != nil:
			fmt.Fprintf(w, "  query %-30s %s: %s\n", qs.Query, qs.Status, qs.Error)
		case q.Earlier != nil:
			fmt.Fprintf(w, "  query %-30s done by an earlier run of this command (run %s): %d rows, kept, not paid for again (%d credits then)\n",
				qs.Query, q.Earlier.Run, q.Earlier.Rows, q.Earlier.Credits)
		case q.Report != nil:
			fmt.Fprintf(w, "  query %-30s %s: total %d, %d rows, %d pages, %d credits", qs.Query, qs.StopReason, qs.Total, qs.Rows, qs.Pages, qs.CreditsBilled)
			if qs.Sliced {
				fmt.Fprintf(w, ", %d slices", len(q.Report.Slices))
			}
			if qs.Unreachable > 0 {
				fmt.Fprintf(w, ", %d out of reach", qs.Unreachable)
			}
			if qs.AlreadyExported > 0 {
				fmt.Fprintf(w, ", %d already exported (incremental)", qs.AlreadyExported)
			}
			if qs.OlderThanCursor > 0 {
				fmt.Fprintf(w, ", %d older than the cursor (not written)", qs.OlderThanCursor)
			}
			fmt.Fprintln(w)
		}
	}
	printFiles(w, s)
	if s.RunRecord != "" {
		fmt.Fprintf(w, "  run record %s: the same command for date %s reuses the queries done and retries the others (--fresh starts over)\n", s.RunRecord, s.Date)
	}
}

// noEffect lists the slicing filters found without effect, each once.
func noEffect(ns []pager.NoEffect) string {
	var out []string
	seen := map[string]bool{}
	for _, n := range ns {
		if !seen[n.Field] {
			seen[n.Field] = true
			out = append(out, n.String())
		}
	}
	return strings.Join(out, "; ")
}
