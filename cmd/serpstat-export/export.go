package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/sink"
)

const exportHelp = `Usage: serpstat-export export --query DOMAIN --out FILE [--out FILE ...] [flags]

Exports every new backlink of DOMAIN (getNewBacklinks), page by page up to
the query's total or the API's 60,000-row wall, into each --out file in one
pass. The token comes from $SERPSTAT_TOKEN or --token-file.

Examples:
  serpstat-export export --query example.com --out backlinks.parquet
  serpstat-export export --query example.com --out links.csv --out links.ndjson --budget 20000
  serpstat-export export --config nightly.yaml --out - | jq .url_from

Flags:
`

// output is one --out: where the rows go and in which format.
type output struct {
	path   string // "-" is stdout
	format sink.Format
	file   *sink.File // nil for stdout
	w      sink.RowWriter
}

func runExport(ctx context.Context, stop <-chan struct{}, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("export", stderr, exportHelp)
	configPath, apply := exportFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serpstat-export export: unexpected argument %q (flags go before it? use --query DOMAIN)\n", fs.Arg(0))
		return exitUsage
	}
	s, err := loadSettings(*configPath)
	if err == nil {
		apply(&s)
	}
	u, uerr := newUI(stderr, s)
	if err == nil {
		err = uerr
	}
	rep, outs, spool, err := export(ctx, stop, s, err, stdout, u)
	code := exitCode(ctx, err)
	kept := ""
	if err != nil && spool != nil && spool.Exists() {
		kept = spool.Dir()
	}
	u.finish(s, newSummary(u.runID, "export", rep, outs, kept, err, code), rep, outs, err)
	return code
}

// job is a validated query, ready to send.
type job struct {
	client *serpstat.Client
	pager  *pager.Pager
}

// prepare validates every query setting and builds the client and pager.
// Nothing is sent.
func prepare(s settings, u *ui) (*job, error) {
	log := u.log
	params, err := s.params()
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := checkEndpoint(s.Endpoint, s.Insecure); err != nil {
		return nil, err
	}
	token, err := s.token()
	if err != nil {
		return nil, err
	}
	u.secret(token)
	if s.tokenFlag != "" {
		log.Warn("--token is visible to other users of this machine in the process list; prefer SERPSTAT_TOKEN or --token-file")
	}
	if s.TokenFile != "" {
		if w := tokenFileWarning(s.TokenFile); w != "" {
			log.Warn(w)
		}
	}
	client := &serpstat.Client{
		Endpoint:     s.Endpoint,
		Token:        token,
		TokenInQuery: s.TokenInQuery,
		HTTPClient:   &http.Client{Timeout: s.Timeout},
		UserAgent:    "serpstat-export/" + version,
	}
	p := &pager.Pager{
		Fetcher:  client,
		Params:   params,
		Throttle: pager.NewThrottle(s.RPS),
		Budget:   pager.NewBudget(s.Budget),
		Retry:    pager.RetryPolicy{MaxAttempts: s.Retries, MaxWait: s.RetryMaxWait},
		MaxRows:  s.MaxRows,
		Wall:     s.Wall,
		Logger:   log,
	}
	p.Init()
	return &job{client: client, pager: p}, nil
}

// balance reads the account's balance with getStats (0 credits), paced
// by the job's rate limiter like every request.
func (j *job) balance(ctx context.Context) (int64, error) {
	if err := j.pager.Throttle.Wait(ctx); err != nil {
		return 0, err
	}
	st, err := j.client.Stats(ctx)
	if err != nil {
		return 0, fmt.Errorf("getStats: %w", err)
	}
	return int64(st.LeftLines), nil
}

// export validates everything, opens the outputs, runs the export and
// commits the outputs. Nothing is sent before all input is valid.
func export(ctx context.Context, stop <-chan struct{}, s settings, loadErr error, stdout io.Writer, u *ui) (*exporter.Report, []*output, *exporter.Spool, error) {
	if loadErr != nil {
		return nil, nil, nil, loadErr
	}
	log := u.log
	j, err := prepare(s, u)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(s.Out) == 0 {
		return nil, nil, nil, usagef("--out is required: a file such as backlinks.csv, backlinks.ndjson or backlinks.parquet, or - for stdout")
	}
	outs, err := planOutputs(s.Out, s.Format)
	if err != nil {
		return nil, nil, nil, err
	}
	spool, err := openSpool(s, outs, j)
	if err != nil {
		return nil, nil, nil, err
	}
	defer spool.Close()
	if err := openOutputs(outs, stdout, s.CSVRaw); err != nil {
		spool.RemoveIfEmpty()
		return nil, outs, nil, err
	}
	e := &exporter.Exporter{Pager: j.pager, Workers: s.Workers, Partial: s.Partial, NoSlice: s.NoSlice, Checkpoint: spool, Stop: stop, Logger: log}
	for _, o := range outs {
		e.Sinks = append(e.Sinks, o.w)
	}
	if s.KeepBalance > 0 {
		bal, err := j.balance(ctx)
		if err == nil && bal <= s.KeepBalance {
			err = fmt.Errorf("the account's balance is %d credits, not above --keep-balance %d: %w", bal, s.KeepBalance, pager.ErrBalanceFloor)
		}
		if err != nil {
			err = finishOutputs(outs, spool, err)
			spool.RemoveIfEmpty()
			return nil, outs, nil, err
		}
		j.pager.Budget.KeepBalance(bal, s.KeepBalance)
		e.StartBalance = bal
	}
	stopProgress := u.progress(e, s)
	rep, runErr := e.Run(ctx)
	stopProgress()
	err = finishOutputs(outs, spool, runErr)
	if err != nil {
		spool.RemoveIfEmpty()
	}
	return rep, outs, spool, err
}

// spoolKey names an export for its spool: what decides which rows it
// holds. Budget, rate and workers may change between a run and its resume.
type spoolKey struct {
	Method  string                      `json:"method"`
	Params  serpstat.NewBacklinksParams `json:"params"`
	MaxRows int                         `json:"max_rows,omitempty"`
}

// openSpool opens the export's checkpoint: --state-dir, or a hidden
// directory next to the first output file. It refuses a spool of another
// export, and removes temporary files a killed run left next to the
// outputs.
func openSpool(s settings, outs []*output, j *job) (*exporter.Spool, error) {
	dir := s.StateDir
	if dir == "" {
		dir = ".serpstat-export." + safeName(j.pager.Params.Query) + ".spool"
		for _, o := range outs {
			if o.path != "-" {
				d, base := filepath.Split(o.path)
				dir = filepath.Join(d, "."+base+".spool")
				break
			}
		}
	}
	if s.Restart {
		if err := exporter.RemoveSpool(dir); err != nil {
			return nil, usagef("--restart: %v", err)
		}
	}
	key := spoolKey{Method: serpstat.MethodNewBacklinks, Params: j.pager.Params, MaxRows: s.MaxRows}
	sp, err := exporter.OpenSpool(dir, key)
	switch {
	case errors.Is(err, exporter.ErrSpoolMismatch):
		return nil, usagef("%v; run with the same query flags to resume it, or add --restart to discard it", err)
	case errors.Is(err, exporter.ErrSpoolBusy):
		return nil, usagef("%v: wait for that run to end", err)
	case err != nil:
		return nil, err
	}
	for _, o := range outs {
		if o.path != "-" {
			d, base := filepath.Split(o.path)
			stale, _ := filepath.Glob(filepath.Join(d, "."+base+".tmp-*"))
			for _, f := range stale {
				_ = os.Remove(f)
			}
		}
	}
	return sp, nil
}

// safeName keeps letters, digits, dots and dashes of s.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// planOutputs picks each output's format and refuses clashes, before
// anything is opened.
func planOutputs(paths []string, format string) ([]*output, error) {
	var override sink.Format
	if format != "" {
		f, err := sink.ParseFormat(format)
		if err != nil {
			return nil, usagef("--format: %v", err)
		}
		override = f
	}
	seen := map[string]bool{}
	outs := make([]*output, 0, len(paths))
	for _, p := range paths {
		if p == "" {
			return nil, usagef("--out must not be empty")
		}
		key := p
		if p != "-" {
			key = filepath.Clean(p)
		}
		if seen[key] {
			return nil, usagef("--out %s is given twice", p)
		}
		seen[key] = true
		f, err := sink.FormatFor(p)
		switch {
		case p == "-" && override != "":
			f = override
		case err != nil && override != "":
			f = override
		case err != nil:
			return nil, usagef("--out %s: %v", p, err)
		}
		outs = append(outs, &output{path: p, format: f})
	}
	return outs, nil
}

func openOutputs(outs []*output, stdout io.Writer, csvRaw bool) error {
	for _, o := range outs {
		var w io.Writer = stdout
		if o.path != "-" {
			f, err := sink.Create(o.path)
			if err != nil {
				abortOutputs(outs)
				return usagef("--out %s: %v", o.path, err)
			}
			o.file, w = f, f
		}
		rw, err := sink.New(o.format, w)
		if err != nil {
			abortOutputs(outs)
			return err
		}
		if c, ok := rw.(*sink.CSV); ok {
			// Anchors are written by strangers: a cell that a
			// spreadsheet would run as a formula gets a leading '.
			c.Neutralize = !csvRaw
		}
		o.w = rw
	}
	return nil
}

func abortOutputs(outs []*output) {
	for _, o := range outs {
		if o.file != nil {
			_ = o.file.Abort()
		}
	}
}

// finishOutputs flushes every output. A complete export is renamed into
// place and its spool removed; an incomplete one is thrown away, since
// every page paid for is in the spool for a resume: no file under the
// final name is ever incomplete.
func finishOutputs(outs []*output, spool *exporter.Spool, runErr error) error {
	errs := []error{runErr}
	for _, o := range outs {
		if o.w == nil {
			continue
		}
		cerr := o.w.Close()
		if cerr != nil {
			errs = append(errs, fmt.Errorf("--out %s: %w", o.path, cerr))
		}
		if o.file == nil {
			continue
		}
		if runErr == nil && cerr == nil {
			if err := o.file.Commit(); err != nil {
				errs = append(errs, fmt.Errorf("--out %s: %w", o.path, err))
			}
			continue
		}
		_ = o.file.Abort()
		o.path = ""
	}
	err := errors.Join(errs...)
	if err == nil {
		if rerr := spool.Remove(); rerr != nil {
			err = fmt.Errorf("remove the spool: %w", rerr)
		}
	}
	return err
}

// printReport writes what a run did and what it cost.
func printReport(w io.Writer, runID string, rep *exporter.Report, outs []*output) {
	if rep != nil && rep.Plan.Pages > 0 {
		state := "done"
		switch {
		case rep.Partial:
			state = "partial (as --partial asked)"
		case !rep.Complete:
			state = "stopped"
		}
		fmt.Fprintf(w, "serpstat-export: %s (run %s): %d rows, %d pages, %d credits billed, %s, %.0f rows/s\n",
			state, runID, rep.Rows, rep.Pages, rep.Credits, rep.Elapsed.Round(time.Millisecond), rep.RowsPerSecond())
		if rep.Sliced {
			fmt.Fprintf(w, "  query %s: total %d, reachable %d in %d slices, pages of %d rows\n",
				rep.Query, rep.Plan.Total, rep.Plan.Reachable, len(rep.Slices), rep.Plan.Size)
		} else {
			fmt.Fprintf(w, "  query %s: total %d, reachable %d, %d planned pages of %d rows\n",
				rep.Query, rep.Plan.Total, rep.Plan.Reachable, rep.Plan.Pages, rep.Plan.Size)
		}
		fmt.Fprintf(w, "  credits: estimated %d, billed %d", rep.CreditsEstimated, rep.Credits)
		if rep.CreditsByBalance >= 0 {
			fmt.Fprintf(w, " (balance dropped by %d)", rep.CreditsByBalance)
		}
		if d := rep.Difference(); d != 0 && rep.Complete {
			fmt.Fprintf(w, ", difference %+d (retried answers that were billed, surplus rows of a last page, empty pages)", d)
		}
		fmt.Fprintln(w)
		if rep.Cut > 0 {
			fmt.Fprintf(w, "  %d surplus rows of the last page were paid for and not written (--max-rows)\n", rep.Cut)
		}
		if rep.Resumed > 0 {
			fmt.Fprintf(w, "  resumed: %d pages came from the checkpoint, not paid for again\n", rep.Resumed)
		}
		if rep.LastTotal > 0 {
			fmt.Fprintf(w, "  the data changed while exporting: total %d at the start, %d later\n", rep.Plan.Total, rep.LastTotal)
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
				if sl.Unreachable > 0 {
					fmt.Fprintf(w, ", %d out of reach (nothing splits it further)", sl.Unreachable)
				}
				fmt.Fprintln(w)
			}
		}
		if rep.Unreachable > 0 {
			hint := "narrow the query with --filter to get them"
			if !rep.Sliced {
				hint = "slicing was off (--no-slice)"
			}
			fmt.Fprintf(w, "  the API's %d-row wall: %d matching rows were out of reach (%s)\n", rep.Plan.Wall, rep.Unreachable, hint)
		}
		if rep.Partial {
			fmt.Fprintf(w, "  partial: %d of %d rows; the rest needs %d more credits\n", rep.Rows, rep.Plan.Reachable, rep.CreditsLeft)
		}
		if rep.Repaired > 0 {
			fmt.Fprintf(w, "  %d invalid UTF-8 sequences from the API were written as U+FFFD\n", rep.Repaired)
		}
	}
	for _, o := range outs {
		if o.path != "" && o.w != nil {
			fmt.Fprintf(w, "  wrote %s (%s)\n", o.path, o.format)
		}
	}
}

// printError says why a run failed and what to do next.
func printError(w io.Writer, s settings, rep *exporter.Report, err error, code int) {
	if err == nil {
		return
	}
	switch code {
	case exitBudget:
		printBudgetStop(w, s, rep, err)
	case exitRefused:
		fmt.Fprintf(w, "serpstat-export: the API refused the request: %v\n", err)
		if serpstat.Classify(err) == serpstat.ClassAuth {
			fmt.Fprintln(w, "  check the token (SERPSTAT_TOKEN or --token-file) and that your plan includes API access")
		} else {
			fmt.Fprintln(w, "  the account is out of credits: rows already paid for were kept")
		}
	case exitUsage:
		fmt.Fprintf(w, "serpstat-export export: %v\n", err)
		if serpstat.Classify(err) == serpstat.ClassInvalid {
			fmt.Fprintln(w, "  the API refused the query's params or filter; fix them and run again")
		} else {
			fmt.Fprintln(w, "  run the command with -h for its flags; nothing was sent, no credit spent")
		}
	case exitCanceled:
		fmt.Fprintln(w, "serpstat-export: interrupted: requests in flight were finished and saved; no output was committed")
	default:
		fmt.Fprintf(w, "serpstat-export: %v\n", strings.TrimSpace(err.Error()))
	}
}

func printBudgetStop(w io.Writer, s settings, rep *exporter.Report, err error) {
	if errors.Is(err, pager.ErrBalanceFloor) {
		fmt.Fprintf(w, "serpstat-export: stopped to keep the account's balance above --keep-balance %d: %v\n", s.KeepBalance, err)
		if rep != nil && rep.CreditsLeft > 0 {
			fmt.Fprintf(w, "  the rest of the export needs %d more credits\n", rep.CreditsLeft)
		}
		return
	}
	spent := int64(0)
	if rep != nil {
		spent = rep.Credits
	}
	fmt.Fprintf(w, "serpstat-export: stopped by the budget: %d credits spent of --budget %d", spent, s.Budget)
	if rep != nil && rep.CreditsEstimated > 0 {
		fmt.Fprintf(w, "; the full export needs %d credits (%d more); raise --budget to at least %d", rep.CreditsEstimated, rep.CreditsLeft, rep.CreditsEstimated)
		if !s.Partial {
			fmt.Fprint(w, ", or add --partial to export the whole pages that fit")
		}
	}
	fmt.Fprintln(w)
}
