package lake

import (
	"context"
	"io"

	"path/filepath"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/exporter"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/sink"
)

// Counts is what a query did, or a run of several in all: the fields the
// summary JSON shows both for the run and for each query of a run of
// several, filled in from an exporter.Report by countsOf and added up by
// add. Its field names are a contract.
type Counts struct {
	Status      string `json:"status"` // done, partial, stopped, interrupted, refused, usage, failed
	Error       string `json:"error,omitempty"`
	StopReason  string `json:"stop_reason,omitempty"`
	Total       int    `json:"total"`
	Reachable   int    `json:"reachable"`
	Unreachable int    `json:"unreachable"`
	Rows        int64  `json:"rows"` // written to the outputs
	// RowsCommitted: of Rows, those in outputs that were committed (or
	// written to stdout): what the lake holds from this run. A query
	// stopped before its outputs were committed keeps its rows in its
	// spool, for the rerun, and counts none here.
	RowsCommitted    int64   `json:"rows_committed"`
	Pages            int     `json:"pages"`
	CreditsEstimated int64   `json:"credits_estimated"`
	CreditsBilled    int64   `json:"credits_billed"`
	ElapsedSeconds   float64 `json:"elapsed_seconds"`
	RowsPerSecond    float64 `json:"rows_per_second"`
	Requests         int64   `json:"requests"` // sent to the API, retries included
	Retries          int64   `json:"retries"`
	RateLimited      int64   `json:"rate_limited"`
	ResumedPages     int     `json:"resumed_pages"`
	Sliced           bool    `json:"sliced"`
	Spool            string  `json:"spool,omitempty"` // kept for a resume
}

// countsOf is the counts of a query's report; rows is what the outputs
// hold of it.
func countsOf(r *exporter.Report, rows, committed int64) Counts {
	return Counts{
		StopReason: r.StopReason, Total: r.Plan.Total, Reachable: r.Plan.Reachable, Unreachable: r.Unreachable,
		Rows: rows, RowsCommitted: committed, Pages: r.Pages, CreditsEstimated: r.CreditsEstimated, CreditsBilled: r.Credits,
		ElapsedSeconds: r.Elapsed.Seconds(), RowsPerSecond: perSecond(rows, r.Elapsed),
		Requests: r.Requests, Retries: r.Retries, RateLimited: r.RateLimited, ResumedPages: r.Resumed, Sliced: r.Sliced,
	}
}

// add adds a query's counts to a run's (its time and rate aside).
func (c *Counts) add(q Counts) {
	c.Total += q.Total
	c.Reachable += q.Reachable
	c.Unreachable += q.Unreachable
	c.Rows += q.Rows
	c.RowsCommitted += q.RowsCommitted
	c.Pages += q.Pages
	c.CreditsEstimated += q.CreditsEstimated
	c.CreditsBilled += q.CreditsBilled
	c.Requests += q.Requests
	c.Retries += q.Retries
	c.RateLimited += q.RateLimited
	c.ResumedPages += q.ResumedPages
	c.Sliced = c.Sliced || q.Sliced
}

// Summary is the one report of a run, rendered two ways: as JSON, the end
// summary for schedulers (--summary-json writes it, and --log-format json
// logs it as the last line), and as text by WriteText. Its field names are
// a contract.
type Summary struct {
	RunID    string `json:"run_id"`
	Command  string `json:"command"`
	Method   string `json:"method,omitempty"`
	ExitCode int    `json:"exit_code"`
	Query    string `json:"query,omitempty"`
	// Date is the run's logical date ({date}, --date).
	Date string `json:"date,omitempty"`
	Counts
	TotalUnknown     bool            `json:"total_unknown,omitempty"` // the API did not tell the total
	AlreadyExported  int64           `json:"already_exported,omitempty"`
	OlderThanCursor  int64           `json:"older_than_cursor,omitempty"` // incremental: rows older than the cursor, not written
	CreditsByBalance *int64          `json:"credits_by_balance,omitempty"`
	BalanceBefore    *int64          `json:"balance_before,omitempty"` // the account's, where it was read
	BalanceAfter     *int64          `json:"balance_after,omitempty"`
	CreditsLeft      int64           `json:"credits_left,omitempty"`
	Duplicates       int64           `json:"duplicates"`
	RepairedUTF8     int             `json:"repaired_utf8"`
	CellsGuarded     int64           `json:"cells_guarded"` // CSV cells the formula guard changed
	Cut              int64           `json:"cut,omitempty"`
	TotalChanged     int             `json:"total_changed,omitempty"`
	Slices           []SliceSummary  `json:"slices,omitempty"`
	Probes           int             `json:"probes,omitempty"`
	ProbeCredits     int64           `json:"probe_credits,omitempty"`
	Outputs          []OutputSummary `json:"outputs"`
	Manifest         string          `json:"manifest,omitempty"`
	Queries          []QuerySummary  `json:"queries,omitempty"`
	// DuplicateQueries are the queries given, as written, that were
	// dropped as the same as another once normalised (A.COM and a.com):
	// each domain is exported once.
	DuplicateQueries []string `json:"duplicate_queries,omitempty"`
	// QueriesReused: queries an earlier run of the same command and date
	// finished, taken from the run record, neither bought nor written
	// again; QueriesNotStarted: queries a stop of the whole run (budget,
	// interruption) left untried.
	QueriesReused     int `json:"queries_reused"`
	QueriesNotStarted int `json:"queries_not_started"`
	// RunRecord is the run record's path or URL (a run of several
	// queries into their own outputs); Fresh: --fresh or --restart.
	RunRecord string `json:"run_record,omitempty"`
	Fresh     bool   `json:"fresh"`
	// UnknownKeys counts, per answer key the method's descriptor does not
	// know, the rows that held it.
	UnknownKeys map[string]int64 `json:"unknown_keys,omitempty"`

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

	res *Result // what the text shows
}

// QuerySummary is a line a query of a run of several; its counts are
// what the outputs and the manifest hold for the query.
type QuerySummary struct {
	Query string `json:"query"`
	Counts
	AlreadyExported int64 `json:"already_exported"` // incremental: boundary rows an earlier run wrote, dropped
	// OlderThanCursor: incremental rows answered older than the cursor
	// (the API ignored its filter), not written.
	OlderThanCursor int64 `json:"older_than_cursor,omitempty"`
	// CreditsBilledInAll is what the query cost in every attempt of the
	// run; Reused: an earlier attempt finished it (credits_billed 0).
	CreditsBilledInAll int64 `json:"credits_billed_in_all"`
	Reused             bool  `json:"reused"`
}

// written is the rows of the query the outputs hold: the rows exported
// less the boundary rows an earlier incremental run had written.
func (q *QueryResult) written() int64 {
	if q.Report == nil {
		return 0
	}
	return q.Report.Rows - q.Dropped
}

// committedRows is written, once the outputs holding the rows were
// committed; 0 before.
func (q *QueryResult) committedRows() int64 {
	if !q.committed {
		return 0
	}
	return q.written()
}

type SliceSummary struct {
	Label       string `json:"label"`
	Total       int    `json:"total"`
	Rows        int64  `json:"rows"`
	Unreachable int    `json:"unreachable,omitempty"`
}

type OutputSummary struct {
	Path   string      `json:"path"`
	Format sink.Format `json:"format"`
	Rows   int64       `json:"rows"`
	Run    string      `json:"run,omitempty"` // the run that wrote it
	Bytes  int64       `json:"bytes,omitempty"`
	SHA256 string      `json:"sha256,omitempty"`
	// CellsGuarded is the CSV cells the formula guard changed.
	CellsGuarded int64 `json:"cells_guarded,omitempty"`
}

// perSecond is n per second of d (0 for no time).
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// NewSummary is the run's summary: status and code are the command's
// (see Counts.Status), res what the run did (nil when it did not start);
// elapsed is the whole run's time (a run of several queries reports it,
// and its rows per second).
func NewSummary(runID, command, status string, code int, res *Result, err error, elapsed time.Duration) *Summary {
	sum := &Summary{RunID: runID, Command: command, Counts: Counts{Status: status}, ExitCode: code, Outputs: []OutputSummary{}, res: res}
	if err != nil {
		sum.Error = err.Error()
	}
	if res == nil {
		return sum
	}
	sum.Method = res.method
	for _, d := range res.duplicates {
		sum.DuplicateQueries = append(sum.DuplicateQueries, d.Query)
	}
	sum.Manifest = res.manifest
	sum.Date, sum.RunRecord, sum.Fresh, sum.QueriesNotStarted = res.date, res.record, res.fresh, res.notStarted
	for _, f := range res.files {
		run := f.Run
		if run == "" {
			run = runID
		}
		sum.Outputs = append(sum.Outputs, OutputSummary{Path: f.Path, Format: f.Format, Rows: f.Rows, Run: run, Bytes: f.Bytes, SHA256: f.SHA256, CellsGuarded: f.CellsGuarded})
		sum.CellsGuarded += f.CellsGuarded
	}
	for _, q := range res.queries {
		if q.Spool != "" && sum.Spool == "" {
			sum.Spool = q.Spool
		}
		for k, n := range q.unknownKeys() {
			if sum.UnknownKeys == nil {
				sum.UnknownKeys = map[string]int64{}
			}
			sum.UnknownKeys[k] += n
		}
		if !res.multi {
			continue
		}
		qs := QuerySummary{Query: q.Query}
		if r := q.Report; r != nil {
			qs.Counts, qs.AlreadyExported = countsOf(r, q.written(), q.committedRows()), q.Dropped
			sum.Counts.add(qs.Counts)
			sum.AlreadyExported += qs.AlreadyExported
			sum.Duplicates += r.Duplicates
			sum.RepairedUTF8 += r.Repaired
			sum.Probes += r.Probes
			sum.ProbeCredits += r.ProbeCredits
		}
		qs.OlderThanCursor = q.OlderThanCursor
		sum.OlderThanCursor += q.OlderThanCursor
		qs.Status, qs.Spool = StatusOf(context.Background(), q.Err), q.Spool
		if q.Err != nil {
			qs.Error = q.Err.Error()
		}
		qs.CreditsBilledInAll, qs.Reused = q.creditsInAll(), q.Earlier != nil
		if qs.Reused {
			sum.QueriesReused++
			qs.CreditsBilled = 0 // bought by an earlier attempt
		}
		sum.CreditsBilledInAll += qs.CreditsBilledInAll
		if r := q.Report; r != nil && !qs.Reused {
			if r.StartBalance >= 0 && sum.BalanceBefore == nil {
				sum.BalanceBefore = &r.StartBalance
			}
			if r.LeftLines >= 0 {
				sum.BalanceAfter = &r.LeftLines
			}
		}
		sum.Queries = append(sum.Queries, qs)
	}
	if res.multi {
		sum.ElapsedSeconds = elapsed.Seconds()
		sum.RowsPerSecond = perSecond(sum.Rows, elapsed)
		sum.CreditsEarlier = sum.CreditsBilledInAll - sum.CreditsBilled
	}
	rep := res.Report()
	if rep == nil {
		return sum
	}
	status, errText, spool := sum.Status, sum.Error, sum.Spool
	if rep.Partial {
		status = "partial"
	}
	sum.Counts = countsOf(rep, res.queries[0].written(), res.queries[0].committedRows())
	sum.Status, sum.Error, sum.Spool = status, errText, spool
	sum.Query, sum.AlreadyExported, sum.CreditsLeft = rep.Query, res.queries[0].Dropped, rep.CreditsLeft
	sum.OlderThanCursor = res.queries[0].OlderThanCursor
	if rep.CreditsByBalance >= 0 {
		sum.CreditsByBalance = &rep.CreditsByBalance
	}
	if rep.LeftLines >= 0 {
		sum.BalanceAfter = &rep.LeftLines
	}
	if rep.StartBalance >= 0 {
		sum.BalanceBefore = &rep.StartBalance
	}
	sum.CreditsBilledInAll, sum.CreditsEarlier, sum.Attempts = rep.CreditsInAll, rep.CreditsEarlier, rep.Attempts
	sum.DamagedPages, sum.Reread, sum.CreditsUnkept = rep.DamagedPages, rep.Reread, rep.Unkept
	sum.Duplicates, sum.RepairedUTF8, sum.Cut, sum.TotalChanged = rep.Duplicates, rep.Repaired, rep.Cut, rep.LastTotal
	sum.Probes, sum.ProbeCredits = rep.Probes, rep.ProbeCredits
	sum.RowsInDoubt, sum.TotalUnknown = rep.InDoubt+int64(rep.SliceInDoubt), rep.TotalUnknown
	for _, s := range rep.Slices {
		sum.Slices = append(sum.Slices, SliceSummary{Label: s.Label, Total: s.Total, Rows: s.Rows, Unreachable: s.Unreachable})
	}
	return sum
}

// WriteText writes the summary as a person reads it: what the run did and
// what it cost.
func (s *Summary) WriteText(w io.Writer) { printReport(w, s) }

// emptyRunManifest is where the manifest of a run that wrote no file
// goes: in the directory the first templated --out writes under, with
// {date} and {method} filled in (a run with files puts it beside them).
func emptyRunManifest(outs []string, date, method string) string {
	for _, o := range outs {
		if o == "-" || !placeholder.MatchString(o) && !dest.IsURL(o) {
			continue
		}
		base, query := splitURLQuery(o)
		p := placeholder.ReplaceAllStringFunc(base, func(ph string) string {
			switch ph {
			case "{date}":
				return SafeValue(date)
			case "{method}":
				return SafeValue(method)
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
