package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/sink"
)

// runSummary is the end summary for schedulers: --summary-json writes it,
// and --log-format json logs it as the last line. Its field names are a
// contract.
type runSummary struct {
	RunID            string          `json:"run_id"`
	Command          string          `json:"command"`
	Status           string          `json:"status"` // done, partial, stopped, interrupted, refused, usage, failed
	ExitCode         int             `json:"exit_code"`
	Error            string          `json:"error,omitempty"`
	StopReason       string          `json:"stop_reason,omitempty"`
	Query            string          `json:"query,omitempty"`
	Total            int             `json:"total"`
	Reachable        int             `json:"reachable"`
	Unreachable      int             `json:"unreachable"`
	TotalUnknown     bool            `json:"total_unknown,omitempty"` // the API did not tell the total
	Rows             int64           `json:"rows"`
	AlreadyExported  int64           `json:"already_exported,omitempty"`
	Pages            int             `json:"pages"`
	CreditsEstimated int64           `json:"credits_estimated"`
	CreditsBilled    int64           `json:"credits_billed"`
	CreditsByBalance *int64          `json:"credits_by_balance,omitempty"`
	BalanceAfter     *int64          `json:"balance_after,omitempty"`
	CreditsLeft      int64           `json:"credits_left,omitempty"`
	ElapsedSeconds   float64         `json:"elapsed_seconds"`
	RowsPerSecond    float64         `json:"rows_per_second"`
	Retries          int64           `json:"retries"`
	RateLimited      int64           `json:"rate_limited"`
	ResumedPages     int             `json:"resumed_pages"`
	Duplicates       int64           `json:"duplicates"`
	RepairedUTF8     int             `json:"repaired_utf8"`
	CellsGuarded     int64           `json:"cells_guarded"` // CSV cells the formula guard changed
	Cut              int64           `json:"cut,omitempty"`
	TotalChanged     int             `json:"total_changed,omitempty"`
	Sliced           bool            `json:"sliced"`
	Slices           []sliceSummary  `json:"slices,omitempty"`
	Probes           int             `json:"probes,omitempty"`
	ProbeCredits     int64           `json:"probe_credits,omitempty"`
	Outputs          []outputSummary `json:"outputs"`
	Spool            string          `json:"spool,omitempty"` // kept for a resume
	Manifest         string          `json:"manifest,omitempty"`
	Queries          []querySummary  `json:"queries,omitempty"`

	// Issue 12's engine fields. The export in all, over every attempt (a
	// resume counts the earlier ones'): what --budget caps;
	// credits_billed is this attempt's.
	CreditsBilledInAll int64 `json:"credits_billed_in_all"`
	CreditsEarlier     int64 `json:"credits_earlier_attempts,omitempty"`
	Attempts           int   `json:"attempts,omitempty"`
	DamagedPages       int   `json:"damaged_pages,omitempty"` // stored pages that failed their checks and were bought again
	Reread             int64 `json:"reread,omitempty"`        // rows read again to repair shifts made by new data
	// RowsInDoubt: rows that existed at the start and whose export could
	// not be proven (live data), plus rows by which the slices did not
	// add up to the query's total (those are in unreachable too).
	RowsInDoubt   int64 `json:"rows_in_doubt,omitempty"`
	CreditsUnkept int64 `json:"credits_unkept,omitempty"` // spent on pages the checkpoint could not store (disk full)
}

// querySummary is a line a query of a run of several; its counts are
// what the outputs and the manifest hold for the query.
type querySummary struct {
	Query            string  `json:"query"`
	Status           string  `json:"status"`
	Error            string  `json:"error,omitempty"`
	StopReason       string  `json:"stop_reason,omitempty"`
	Total            int     `json:"total"`
	Reachable        int     `json:"reachable"`
	Unreachable      int     `json:"unreachable"`
	Rows             int64   `json:"rows"`             // written to the outputs
	AlreadyExported  int64   `json:"already_exported"` // incremental: boundary rows an earlier run wrote, dropped
	Pages            int     `json:"pages"`
	CreditsEstimated int64   `json:"credits_estimated"`
	CreditsBilled    int64   `json:"credits_billed"`
	ElapsedSeconds   float64 `json:"elapsed_seconds"`
	RowsPerSecond    float64 `json:"rows_per_second"`
	Retries          int64   `json:"retries"`
	RateLimited      int64   `json:"rate_limited"`
	ResumedPages     int     `json:"resumed_pages"`
	Sliced           bool    `json:"sliced"`
	Spool            string  `json:"spool,omitempty"`
}

// written is the rows of the query the outputs hold: the rows exported
// less the boundary rows an earlier incremental run had written.
func (q *queryResult) written() int64 {
	if q.Report == nil {
		return 0
	}
	return q.Report.Rows - q.Dropped
}

type sliceSummary struct {
	Label       string `json:"label"`
	Total       int    `json:"total"`
	Rows        int64  `json:"rows"`
	Unreachable int    `json:"unreachable,omitempty"`
}

type outputSummary struct {
	Path   string      `json:"path"`
	Format sink.Format `json:"format"`
	Rows   int64       `json:"rows"`
	Bytes  int64       `json:"bytes,omitempty"`
	SHA256 string      `json:"sha256,omitempty"`
	// CellsGuarded is the CSV cells the formula guard changed.
	CellsGuarded int64 `json:"cells_guarded,omitempty"`
}

var statusOf = map[int]string{
	exitOK: "done", exitFailure: "failed", exitUsage: "usage", exitBudget: "stopped",
	exitRefused: "refused", exitCanceled: "interrupted",
}

// perSecond is n per second of d (0 for no time).
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// newSummary is the run's summary; elapsed is the whole run's time (a
// run of several queries reports it, and its rows per second).
func newSummary(runID, command string, res *runResult, err error, code int, elapsed time.Duration) *runSummary {
	sum := &runSummary{RunID: runID, Command: command, Status: statusOf[code], ExitCode: code, Outputs: []outputSummary{}}
	if err != nil {
		sum.Error = err.Error()
	}
	if res == nil {
		return sum
	}
	sum.Manifest = res.manifest
	for _, f := range res.files {
		sum.Outputs = append(sum.Outputs, outputSummary{Path: f.Path, Format: f.Format, Rows: f.Rows, Bytes: f.Bytes, SHA256: f.SHA256, CellsGuarded: f.CellsGuarded})
		sum.CellsGuarded += f.CellsGuarded
	}
	for _, q := range res.queries {
		if q.Spool != "" && sum.Spool == "" {
			sum.Spool = q.Spool
		}
		if !res.multi {
			continue
		}
		qs := querySummary{Query: q.Query, Status: "done", Spool: q.Spool}
		if q.Err != nil {
			qs.Status, qs.Error = "failed", q.Err.Error()
		}
		if r := q.Report; r != nil {
			qs.StopReason = r.StopReason
			qs.Total, qs.Reachable, qs.Unreachable = r.Plan.Total, r.Plan.Reachable, r.Unreachable
			qs.Rows, qs.AlreadyExported, qs.Pages = q.written(), q.Dropped, r.Pages
			qs.CreditsEstimated, qs.CreditsBilled = r.CreditsEstimated, r.Credits
			qs.ElapsedSeconds, qs.RowsPerSecond = r.Elapsed.Seconds(), perSecond(qs.Rows, r.Elapsed)
			qs.Retries, qs.RateLimited, qs.ResumedPages, qs.Sliced = r.Retries, r.RateLimited, r.Resumed, r.Sliced
			sum.Total += qs.Total
			sum.Reachable += qs.Reachable
			sum.Unreachable += qs.Unreachable
			sum.Rows += qs.Rows
			sum.AlreadyExported += qs.AlreadyExported
			sum.Pages += qs.Pages
			sum.CreditsEstimated += qs.CreditsEstimated
			sum.CreditsBilled += qs.CreditsBilled
			sum.Retries += qs.Retries
			sum.RateLimited += qs.RateLimited
			sum.ResumedPages += qs.ResumedPages
			sum.Duplicates += r.Duplicates
			sum.RepairedUTF8 += r.Repaired
			sum.Sliced = sum.Sliced || r.Sliced
			sum.Probes += r.Probes
			sum.ProbeCredits += r.ProbeCredits
		}
		sum.Queries = append(sum.Queries, qs)
	}
	if res.multi {
		sum.ElapsedSeconds = elapsed.Seconds()
		sum.RowsPerSecond = perSecond(sum.Rows, elapsed)
	}
	rep := res.report()
	if rep == nil {
		return sum
	}
	if rep.Partial {
		sum.Status = "partial"
	}
	sum.StopReason = rep.StopReason
	sum.Query, sum.Total, sum.Reachable, sum.Unreachable = rep.Query, rep.Plan.Total, rep.Plan.Reachable, rep.Unreachable
	sum.Rows, sum.AlreadyExported, sum.Pages = res.queries[0].written(), res.queries[0].Dropped, rep.Pages
	sum.CreditsEstimated, sum.CreditsBilled, sum.CreditsLeft = rep.CreditsEstimated, rep.Credits, rep.CreditsLeft
	if rep.CreditsByBalance >= 0 {
		sum.CreditsByBalance = &rep.CreditsByBalance
	}
	if rep.LeftLines >= 0 {
		sum.BalanceAfter = &rep.LeftLines
	}
	sum.ElapsedSeconds, sum.RowsPerSecond = rep.Elapsed.Seconds(), perSecond(sum.Rows, rep.Elapsed)
	sum.Retries, sum.RateLimited = rep.Retries, rep.RateLimited
	sum.CreditsBilledInAll, sum.CreditsEarlier, sum.Attempts = rep.CreditsInAll, rep.CreditsEarlier, rep.Attempts
	sum.DamagedPages, sum.Reread, sum.RowsInDoubt, sum.CreditsUnkept = rep.DamagedPages, rep.Reread, rep.InDoubt, rep.Unkept
	sum.ResumedPages, sum.Duplicates, sum.RepairedUTF8, sum.Cut, sum.TotalChanged = rep.Resumed, rep.Duplicates, rep.Repaired, rep.Cut, rep.LastTotal
	sum.Sliced, sum.Probes, sum.ProbeCredits = rep.Sliced, rep.Probes, rep.ProbeCredits
	sum.RowsInDoubt, sum.TotalUnknown = rep.InDoubt+int64(rep.SliceInDoubt), rep.TotalUnknown
	for _, s := range rep.Slices {
		sum.Slices = append(sum.Slices, sliceSummary{Label: s.Label, Total: s.Total, Rows: s.Rows, Unreachable: s.Unreachable})
	}
	return sum
}

var reGoType = regexp.MustCompile(`json: cannot unmarshal (\w+) into Go (?:struct field \S+ of type|value of type) \S+`)

// plainMessage keeps Go's type names (from encoding/json) out of what a
// person reads.
func plainMessage(s string) string {
	return reGoType.ReplaceAllString(s, "found a JSON $1 where it does not belong")
}

// finish shows the end of a run: the report and the error with what to do
// next, as text, or as one JSON log line; and writes --summary-json.
func (u *ui) finish(s settings, sum *runSummary, res *runResult, err error) {
	var report, msg bytes.Buffer
	printReport(&report, u.runID, res)
	printError(&msg, sum.Command, s, res.report(), err, sum.ExitCode)
	plain := plainMessage(msg.String())
	msg.Reset()
	msg.WriteString(plain)
	sum.Error = plainMessage(sum.Error)
	if sum.Spool != "" {
		fmt.Fprintf(&msg, "  every page paid for is kept in %s: run the same command again to resume without paying for them again (--restart starts over)\n", sum.Spool)
	}
	switch {
	case u.json:
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelError
		}
		u.log.Log(context.Background(), level, "summary", "summary", sum, "message", msg.String())
	case u.quiet:
		_, _ = u.stderr.Write(msg.Bytes())
	default:
		_, _ = u.stderr.Write(report.Bytes())
		_, _ = u.stderr.Write(msg.Bytes())
	}
	if s.SummaryJSON != "" {
		data, jerr := json.MarshalIndent(sum, "", "  ")
		if jerr == nil {
			jerr = dest.WriteAll(context.Background(), s.SummaryJSON, append(data, '\n'), s.s3())
		}
		if jerr != nil {
			u.log.Error("could not write --summary-json", "path", s.SummaryJSON, "error", jerr)
		}
	}
}

// emptyRunManifest is where the manifest of a run that wrote no file
// goes: in the directory the first templated --out writes under, with
// {date} and {method} filled in (a run with files puts it beside them).
func emptyRunManifest(outs []string, date string) string {
	for _, o := range outs {
		if o == "-" || !placeholder.MatchString(o) && !dest.IsURL(o) {
			continue
		}
		base, query := splitURLQuery(o)
		p := placeholder.ReplaceAllStringFunc(base, func(ph string) string {
			switch ph {
			case "{date}":
				return safeValue(date)
			case "{method}":
				return methodName
			}
			return ph
		})
		if i := strings.IndexByte(p, '{'); i >= 0 {
			p = p[:i] + "x" // inside the element that varies
		}
		if dest.IsURL(p) {
			return parentOf(p) + "/_manifest.json" + query
		}
		return filepath.Join(parentOf(p), "_manifest.json")
	}
	return "_manifest.json"
}
