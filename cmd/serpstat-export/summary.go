package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

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
	Rows             int64           `json:"rows"`
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
	DamagedPages       int   `json:"damaged_pages,omitempty"`  // stored pages that failed their checks and were bought again
	Reread             int64 `json:"reread,omitempty"`         // rows read again to repair shifts made by new data
	RowsInDoubt        int64 `json:"rows_in_doubt,omitempty"`  // rows that existed at the start and whose export could not be proven
	CreditsUnkept      int64 `json:"credits_unkept,omitempty"` // spent on pages the checkpoint could not store (disk full)
}

// querySummary is a line a query of a run of several.
type querySummary struct {
	Query         string `json:"query"`
	Status        string `json:"status"`
	Error         string `json:"error,omitempty"`
	Total         int    `json:"total"`
	Rows          int64  `json:"rows"`
	CreditsBilled int64  `json:"credits_billed"`
	Spool         string `json:"spool,omitempty"`
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
}

var statusOf = map[int]string{
	exitOK: "done", exitFailure: "failed", exitUsage: "usage", exitBudget: "stopped",
	exitRefused: "refused", exitCanceled: "interrupted",
}

func newSummary(runID, command string, res *runResult, err error, code int) *runSummary {
	sum := &runSummary{RunID: runID, Command: command, Status: statusOf[code], ExitCode: code, Outputs: []outputSummary{}}
	if err != nil {
		sum.Error = err.Error()
	}
	if res == nil {
		return sum
	}
	sum.Manifest = res.manifest
	for _, f := range res.files {
		sum.Outputs = append(sum.Outputs, outputSummary{Path: f.Path, Format: f.Format, Rows: f.Rows, Bytes: f.Bytes, SHA256: f.SHA256})
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
		if q.Report != nil {
			qs.Total, qs.Rows, qs.CreditsBilled = q.Report.Plan.Total, q.Report.Rows, q.Report.Credits
			sum.Rows += q.Report.Rows
			sum.CreditsBilled += q.Report.Credits
		}
		sum.Queries = append(sum.Queries, qs)
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
	sum.Rows, sum.Pages = rep.Rows, rep.Pages
	sum.CreditsEstimated, sum.CreditsBilled, sum.CreditsLeft = rep.CreditsEstimated, rep.Credits, rep.CreditsLeft
	if rep.CreditsByBalance >= 0 {
		sum.CreditsByBalance = &rep.CreditsByBalance
	}
	if rep.LeftLines >= 0 {
		sum.BalanceAfter = &rep.LeftLines
	}
	sum.ElapsedSeconds, sum.RowsPerSecond = rep.Elapsed.Seconds(), rep.RowsPerSecond()
	sum.Retries, sum.RateLimited = rep.Retries, rep.RateLimited
	sum.CreditsBilledInAll, sum.CreditsEarlier, sum.Attempts = rep.CreditsInAll, rep.CreditsEarlier, rep.Attempts
	sum.DamagedPages, sum.Reread, sum.RowsInDoubt, sum.CreditsUnkept = rep.DamagedPages, rep.Reread, rep.InDoubt, rep.Unkept
	sum.ResumedPages, sum.Duplicates, sum.RepairedUTF8, sum.Cut, sum.TotalChanged = rep.Resumed, rep.Duplicates, rep.Repaired, rep.Cut, rep.LastTotal
	sum.Sliced, sum.Probes, sum.ProbeCredits = rep.Sliced, rep.Probes, rep.ProbeCredits
	for _, s := range rep.Slices {
		sum.Slices = append(sum.Slices, sliceSummary{Label: s.Label, Total: s.Total, Rows: s.Rows, Unreachable: s.Unreachable})
	}
	return sum
}

// finish shows the end of a run: the report and the error with what to do
// next, as text, or as one JSON log line; and writes --summary-json.
func (u *ui) finish(s settings, sum *runSummary, res *runResult, err error) {
	var report, msg bytes.Buffer
	printReport(&report, u.runID, res)
	printError(&msg, s, res.report(), err, sum.ExitCode)
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
			jerr = sink.WriteAll(context.Background(), s.SummaryJSON, append(data, '\n'), s.s3())
		}
		if jerr != nil {
			u.log.Error("could not write --summary-json", "path", s.SummaryJSON, "error", jerr)
		}
	}
}
