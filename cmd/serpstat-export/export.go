package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
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

func runExport(ctx context.Context, stop <-chan struct{}, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	s, u, err, code, done := parseSettings(fs, args, exportHelp, stdout, stderr)
	if done {
		return code
	}
	// The run's buckets, closed once the outputs are committed or aborted
	// and the summary written.
	s.buckets = &dest.Buckets{}
	defer func() { _ = s.buckets.Close() }()
	stopProfiles := startProfiles(s, u)
	res, err := export(ctx, stop, s, err, stdin, stdout, u)
	stopProfiles()
	code = exitCode(ctx, err)
	u.finish(s, newSummary(u.runID, "export", res, err, code, time.Since(u.start)), res, err)
	return code
}

// startProfiles starts --cpuprofile; the returned func stops it and writes
// --memprofile.
func startProfiles(s settings, u *ui) func() {
	var cpu *os.File
	if s.CPUProfile != "" {
		f, err := os.Create(s.CPUProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			u.log.Error("--cpuprofile", "error", err)
		} else {
			cpu = f
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			_ = cpu.Close()
		}
		if s.MemProfile != "" {
			f, err := os.Create(s.MemProfile)
			if err == nil {
				runtime.GC()
				err = pprof.WriteHeapProfile(f)
				_ = f.Close()
			}
			if err != nil {
				u.log.Error("--memprofile", "error", err)
			}
		}
	}
}

// job is a validated query, ready to send.
type job struct {
	s      settings
	u      *ui
	client *serpstat.Client
	pager  *pager.Pager // the first query's; its Throttle and Budget are shared

	coord *coord.Coordinator // --coordinator; nil without
}

// pagerFor is a pager for params sharing the job's client, rate limiter
// and budget.
func (j *job) pagerFor(params serpstat.NewBacklinksParams) *pager.Pager {
	p := &pager.Pager{
		Fetcher:  j.client,
		Params:   params,
		Throttle: j.pager.Throttle,
		Limiter:  j.pager.Limiter,
		Budget:   j.pager.Budget,
		Retry:    j.pager.Retry,
		MaxRows:  j.s.MaxRows,
		Wall:     j.s.Wall,
		Logger:   slog.New(withQuery(j.u.log.Handler(), params.Query)),
	}
	p.Init()
	return p
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
	if err := checkToken(token); err != nil {
		return nil, err
	}
	if s.tokenOnCommandLine {
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
	return &job{s: s, u: u, client: client, pager: p}, nil
}

// balance reads the account's balance with getStats (0 credits), paced
// by the job's rate limiter like every request.
func (j *job) balance(ctx context.Context) (int64, error) {
	if err := j.wait(ctx); err != nil {
		return 0, err
	}
	st, err := j.client.Stats(ctx)
	if err != nil {
		return 0, fmt.Errorf("getStats: %w", err)
	}
	return int64(st.LeftLines), nil
}

// queryResult is what one query of a run did.
type queryResult struct {
	Query   string
	Params  serpstat.NewBacklinksParams
	Report  *exporter.Report
	Err     error
	Files   []*fileRecord
	Spool   string         // kept for a resume
	Dropped int64          // boundary rows an earlier incremental run exported
	Earlier *finishedQuery // set when an earlier run of the command exported it

	spool *exporter.Spool // to remove once the shared outputs are committed
}

// runResult is what a run did.
type runResult struct {
	queries  []*queryResult
	files    []*fileRecord
	manifest string
	success  bool // _SUCCESS was written beside the manifest
	multi    bool
}

// report is the single query's report, or nil for a multi-query run.
func (r *runResult) report() *exporter.Report {
	if r == nil || r.multi || len(r.queries) != 1 {
		return nil
	}
	return r.queries[0].Report
}

// fatal tells whether err stops the whole run rather than one query: auth
// and credits, the budget, an interruption, outputs that cannot be
// written.
func fatal(ctx context.Context, err error) bool {
	var ue *usageError
	switch {
	case err == nil:
		return false
	case errors.Is(err, pager.ErrBudgetExhausted), errors.Is(err, pager.ErrInterrupted), ctx.Err() != nil, errors.As(err, &ue),
		errors.Is(err, coord.ErrUnavailable):
		return true
	}
	switch serpstat.Classify(err) {
	case serpstat.ClassAuth, serpstat.ClassCredits:
		return true
	case serpstat.ClassUnknown:
		// Not an API answer: an output or checkpoint failed.
		var pe *serpstat.ParamError
		return !errors.As(err, &pe)
	}
	return false
}

// export validates everything, then exports every query in turn with one
// rate limiter and one budget, commits the outputs, and writes the
// manifest, _SUCCESS and the incremental state. Nothing is sent before
// all input is valid.
func export(ctx context.Context, stop <-chan struct{}, s settings, loadErr error, stdin io.Reader, stdout io.Writer, u *ui) (*runResult, error) {
	if loadErr != nil {
		return nil, loadErr
	}
	queries, err := queryList(s, stdin)
	if err != nil {
		return nil, err
	}
	multi := len(queries) > 1
	if !multi {
		s.Query = queries[0]
	} else {
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
	if len(s.Out) == 0 {
		return nil, usagef("--out is required: a file such as backlinks.csv, backlinks.ndjson or backlinks.parquet, or - for stdout")
	}
	specs, err := parseOuts(s.Out, s.Format, multi, s.MaxRowsPerFile)
	if err != nil {
		return nil, err
	}
	if multi {
		for _, sp := range specs {
			if sp.stdout && sp.perQuery {
				return nil, usagef("--out - cannot hold {query}")
			}
		}
	}
	// The outputs' locks come first: a run refused because another is
	// writing the same paths touches nothing.
	date := time.Now().UTC().Format(time.DateOnly)
	locks, err := lockOutputs(specs, queries, date, u.runID)
	if err != nil {
		return nil, err
	}
	defer locks.release()
	if err := probeDestinations(ctx, s, specs, queries, date, u.runID); err != nil {
		return nil, err
	}
	manifestAt := manifestTarget(s, specs, queries, multi, date, u.runID)
	prev, err := loadEarlier(ctx, manifestAt, s.s3())
	if err != nil {
		return nil, err
	}
	var state *incrementalState
	if s.Incremental != "" {
		if state, err = loadState(ctx, s.Incremental, s.s3()); err != nil {
			return nil, err
		}
	}
	startBalance := int64(0)
	if s.KeepBalance > 0 {
		bal, err := j.balance(ctx)
		if err == nil && bal <= s.KeepBalance {
			err = fmt.Errorf("the account's balance is %d credits, not above --keep-balance %d: %w", bal, s.KeepBalance, pager.ErrBalanceFloor)
		}
		if err != nil {
			return nil, err
		}
		j.pager.Budget.KeepBalance(bal, s.KeepBalance)
		startBalance = bal
	}

	// Several queries into their own outputs: each finished query is
	// recorded, and one an earlier run of the command finished is skipped.
	var record *runRecord
	if multi && allPerQuery(specs) {
		if record, err = openRunRecord(s, j.pager.Params, date); err != nil {
			return nil, err
		}
	}
	res := &runResult{multi: multi}
	newOutput := func(sp *outSpec, query string) *output {
		maxRows := s.MaxRowsPerFile
		if !sp.parts {
			maxRows = 0 // an --out without {part} is one file: parts would overwrite it
		}
		return &output{spec: sp, query: query, date: date, run: u.runID, part: prev.firstPart(sp, query, date, u.runID),
			maxRows: maxRows, csvRaw: s.CSVRaw, csvBOM: s.CSVBOM,
			skipEmpty: s.Incremental != "" && !sp.plainFile() && !sp.stdout,
			qcol:      multi && !sp.perQuery, ctx: ctx, s3: s.s3(), stdout: stdout}
	}
	var shared []*output // outputs every query writes to, with a query column
	for _, sp := range specs {
		if !sp.perQuery {
			shared = append(shared, newOutput(sp, ""))
		}
	}
	var runErr error
	for _, q := range queries {
		if qr := record.skip(q, state); qr != nil {
			u.log.Info("exported by an earlier run of this command: skipped", "query", q, "rows", qr.Report.Rows)
			res.queries = append(res.queries, qr)
			res.files = append(res.files, qr.Files...)
			continue
		}
		qr := j.exportQuery(ctx, stop, q, specs, shared, newOutput, state, startBalance)
		res.queries = append(res.queries, qr)
		res.files = append(res.files, qr.Files...)
		if qr.Err == nil && record != nil {
			var st *queryState
			if state != nil {
				st = state.Queries[q]
			}
			if err := record.finish(ctx, qr, st); err != nil {
				u.log.Warn("could not record the finished query: a rerun would export it again", "query", q, "error", err)
			}
		}
		if qr.Err != nil {
			u.log.Error("query failed", "query", q, "error", qr.Err)
			if !multi || fatal(ctx, qr.Err) {
				runErr = qr.Err
				break
			}
		}
		startBalance = 0
	}
	if runErr != nil {
		for _, o := range shared {
			o.abort()
		}
	} else {
		runErr = commitAll(ctx, shared)
		for _, o := range shared {
			res.files = append(res.files, o.written()...)
		}
	}
	for _, qr := range res.queries {
		if qr.spool == nil {
			continue
		}
		if runErr == nil {
			removeSpool(u, qr.spool)
		} else if qr.spool.Exists() {
			qr.Spool = qr.spool.Dir() // kept for a resume
		}
	}
	if runErr != nil {
		if multi && errors.Is(runErr, pager.ErrBudgetExhausted) {
			bs := &budgetStop{err: runErr, of: len(queries), recorded: record != nil}
			for _, qr := range res.queries {
				if qr.Report != nil {
					bs.spent += qr.Report.Credits
				}
				if qr.Err == nil {
					bs.finished++
				}
			}
			runErr = bs
		}
		return res, runErr
	}
	if err := j.writeManifest(ctx, res, date, manifestAt, prev); err != nil {
		return res, err
	}
	if state != nil {
		// Only now that every output is committed.
		if err := state.save(ctx, s.Incremental, s.s3()); err != nil {
			return res, fmt.Errorf("--incremental: %w", err)
		}
	}
	if err := record.remove(); err != nil {
		u.log.Warn("could not remove the record of finished queries", "error", err)
	}
	for _, qr := range res.queries {
		if qr.Err != nil {
			return res, &queriesFailed{failed: countFailed(res), of: len(res.queries), first: qr.Query, err: qr.Err}
		}
	}
	return res, nil
}

// queriesFailed ends a run whose other queries were exported: exit 1.
type queriesFailed struct {
	failed, of int
	first      string
	err        error
}

func (e *queriesFailed) Error() string {
	return fmt.Sprintf("%d of %d queries failed; the first: %s: %v", e.failed, e.of, e.first, e.err)
}

func countFailed(r *runResult) int {
	n := 0
	for _, q := range r.queries {
		if q.Err != nil {
			n++
		}
	}
	return n
}

// exportQuery exports one query into its own outputs and the shared ones.
func (j *job) exportQuery(ctx context.Context, stop <-chan struct{}, q string, specs []*outSpec, shared []*output,
	newOutput func(*outSpec, string) *output, state *incrementalState, startBalance int64) *queryResult {
	s, u := j.s, j.u
	qr := &queryResult{Query: q}
	if err := serpstat.ValidateQueryFor(j.pager.Params.SearchType, q); err != nil {
		qr.Err = err
		return qr
	}
	params := j.pager.Params
	params.Query = q
	var prev *queryState
	if state != nil {
		prev = state.Queries[q]
		if prev != nil && prev.Newest != "" {
			c, err := prev.since()
			if err != nil {
				qr.Err = err
				return qr
			}
			params.ComplexFilter = andInto(params.ComplexFilter, c)
		}
	}
	qr.Params = params
	p := j.pagerFor(params)
	var own []*output
	for _, sp := range specs {
		if sp.perQuery {
			own = append(own, newOutput(sp, q))
		}
	}
	for _, o := range shared {
		o.SetQuery(q)
	}
	spool, err := j.openSpool(ctx, specs, q, p)
	if err != nil {
		qr.Err = err
		return qr
	}
	defer spool.Close()
	var sinks []exporter.Sink
	for _, o := range own {
		sinks = append(sinks, o)
	}
	for _, o := range shared {
		sinks = append(sinks, o)
	}
	var t *tracker
	if state != nil {
		// Incremental: the tracker drops the rows the earlier run had and
		// follows the newest first_seen, in front of the outputs.
		t = newTracker(prev)
		for _, o := range sinks {
			t.next = append(t.next, o)
		}
		sinks = []exporter.Sink{t}
	}
	e := &exporter.Exporter{Pager: p, Sinks: sinks, Workers: s.Workers, Partial: s.Partial,
		NoSlice: s.NoSlice, Checkpoint: spool, Stop: stop, Logger: p.Logger, StartBalance: startBalance}
	stopProgress := u.progress(e, s)
	rep, err := e.Run(ctx)
	stopProgress()
	qr.Report, qr.Err = rep, err
	if t != nil {
		qr.Dropped = t.dropped
	}
	inDoubt := errors.Is(err, exporter.ErrRowsInDoubt)
	if err == nil || inDoubt {
		if cerr := commitAll(ctx, own); cerr != nil {
			qr.Err, inDoubt = cerr, false
		}
		for _, o := range own {
			qr.Files = append(qr.Files, o.written()...)
		}
	}
	if qr.Err != nil {
		for _, o := range own {
			if !inDoubt {
				o.abort()
			}
		}
		spool.RemoveIfEmpty()
		if spool.Exists() {
			qr.Spool = spool.Dir()
		}
		return qr
	}
	if state != nil {
		state.Queries[q] = t.state(prev, time.Now())
	}
	if len(shared) == 0 {
		removeSpool(u, spool)
	} else {
		// Its rows are in the shared outputs, which are committed only
		// at the end of the run: the spool stays until then.
		qr.spool = spool
	}
	return qr
}

func removeSpool(u *ui, spool *exporter.Spool) {
	if err := spool.Remove(); err != nil {
		u.log.Warn("could not remove the spool", "dir", spool.Dir(), "error", err)
	}
}

// spoolKey names an export for its spool: what decides which rows it
// holds. Budget, rate and workers may change between a run and its resume.
type spoolKey struct {
	Method  string                      `json:"method"`
	Params  serpstat.NewBacklinksParams `json:"params"`
	MaxRows int                         `json:"max_rows,omitempty"`
}

// openSpool opens a query's checkpoint: under --state-dir, or next to the
// output file of a one-file export (.FILE.spool), or in
// .serpstat-export-state/ here. It refuses a spool of another export.
func openSpool(s settings, specs []*outSpec, q string, p *pager.Pager) (*exporter.Spool, error) {
	dir := ""
	single := len(s.Queries) <= 1 && s.QueriesFile == ""
	var local *outSpec
	for _, sp := range specs {
		if sp.plainFile() {
			local = sp
			break
		}
	}
	switch {
	case s.StateDir != "" && single:
		dir = s.StateDir
	case s.StateDir != "":
		dir = filepath.Join(s.StateDir, safeValue(q)+".spool")
	case single && local != nil:
		d, base := filepath.Split(local.tmpl)
		dir = filepath.Join(d, "."+base+".spool")
	default:
		dir = filepath.Join(".serpstat-export-state", safeValue(q)+".spool")
	}
	if s.Restart {
		if err := exporter.RemoveSpool(dir); err != nil {
			return nil, usagef("--restart: %v", err)
		}
	}
	key := spoolKey{Method: serpstat.MethodNewBacklinks, Params: p.Params, MaxRows: s.MaxRows}
	sp, err := exporter.OpenSpool(dir, key)
	switch {
	case errors.Is(err, exporter.ErrSpoolMismatch):
		return nil, usagef("%v; run with the same query flags to resume it, or add --restart to discard it", err)
	case errors.Is(err, exporter.ErrSpoolBusy):
		return nil, usagef("%v: wait for that run to end", err)
	case err != nil:
		return nil, err
	}
	return sp, nil
}

// writeManifest writes _manifest.json next to the data (or at --manifest)
// and then, when every query of the run succeeded, an empty _SUCCESS
// beside it, when the run wrote to templated paths, object storage or
// several queries, or --manifest asks for one. The manifest lists the
// files earlier runs left there too (see earlier.merge); a run with a
// failed query removes an earlier run's _SUCCESS.
func (j *job) writeManifest(ctx context.Context, res *runResult, date, target string, prev *earlier) error {
	s := j.s
	templated := false
	for _, o := range s.Out {
		templated = templated || placeholder.MatchString(o) || dest.IsURL(o)
	}
	var files []*fileRecord
	for _, f := range res.files {
		if f.Path != "-" {
			files = append(files, f)
		}
	}
	// An incremental load with no new rows writes no data file, and
	// still a manifest saying so.
	noNewRows := s.Incremental != "" && templated && len(files) == 0
	if s.Manifest == "" && (!templated && !res.multi || len(files) == 0 && !noNewRows) {
		return nil
	}
	m := manifest{RunID: j.u.runID, Created: time.Now().UTC(), Date: date, Method: methodName, Files: files,
		Schema: schemaOf(res.multi && hasShared(s.Out)), CreditsBilled: j.pager.Budget.Spent(), Complete: true}
	for _, qr := range res.queries {
		mq := manifestQuery{Query: qr.Query, Status: "done", Params: qr.Params}
		if qr.Report != nil {
			mq.Rows, mq.CreditsBilled = qr.written(), qr.Report.Credits
			mq.NoNewRows = s.Incremental != "" && mq.Rows == 0 && qr.Err == nil
		}
		if qr.Earlier != nil {
			mq.CreditsBilled = qr.Earlier.Credits
		}
		if qr.Err != nil {
			mq.Status, mq.Error, m.Complete = "failed", qr.Err.Error(), false
		}
		m.Queries = append(m.Queries, mq)
	}
	prev.merge(&m)
	// target is where the run read the earlier runs' manifest
	// (manifestTarget); where it is unknown, the files written tell.
	if target == "" && len(files) == 0 {
		target = emptyRunManifest(s.Out, date)
	} else if target == "" {
		// Beside the data, and never below where the templates vary
		// (a query with no new rows may have written no file).
		at := files
		if templated && res.multi {
			at = append([]*fileRecord{{Path: emptyRunManifest(s.Out, date)}}, files...)
		}
		target = besideData(at, "_manifest.json")
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := dest.WriteAll(ctx, target, append(data, '\n'), s.s3()); err != nil {
		return fmt.Errorf("manifest %s: %w", target, err)
	}
	res.manifest = target
	success := besideData([]*fileRecord{{Path: target}}, "_SUCCESS")
	if !m.Complete {
		if err := dest.Remove(ctx, success, s.s3()); err != nil {
			return fmt.Errorf("_SUCCESS %s of an earlier run: %w", success, err)
		}
		return nil
	}
	if err := dest.WriteAll(ctx, success, nil, s.s3()); err != nil {
		return fmt.Errorf("_SUCCESS %s: %w", success, err)
	}
	res.success = true
	return nil
}

// allPerQuery tells whether every output is a query's own (holds {query}).
func allPerQuery(specs []*outSpec) bool {
	for _, sp := range specs {
		if !sp.perQuery {
			return false
		}
	}
	return true
}

func hasShared(outs []string) bool {
	for _, o := range outs {
		if !strings.Contains(o, "{query}") {
			return true
		}
	}
	return false
}

// printReport writes what a run did and what it cost.
func printReport(w io.Writer, runID string, res *runResult) {
	if res != nil && res.multi {
		printMulti(w, runID, res)
		return
	}
	rep := res.report()
	if rep != nil && rep.Plan.Pages > 0 {
		state := "done"
		switch {
		case rep.Partial:
			state = "partial (as --partial asked)"
		case !rep.Complete:
			state = "stopped"
		}
		written := res.queries[0].written()
		fmt.Fprintf(w, "serpstat-export: %s (run %s): %d rows, %d pages, %d credits billed, %s, %.0f rows/s\n",
			state, runID, written, rep.Pages, rep.Credits, rep.Elapsed.Round(time.Millisecond), perSecond(written, rep.Elapsed))
		if d := res.queries[0].Dropped; d > 0 {
			fmt.Fprintf(w, "  incremental: %d rows of the boundary day were already exported (paid for again, not written)\n", d)
		}
		if rep.Sliced {
			fmt.Fprintf(w, "  query %s: total %d, reachable %d in %d slices, pages of %d rows\n",
				rep.Query, rep.Plan.Total, rep.Plan.Reachable, len(rep.Slices), rep.Plan.Size)
		} else {
			fmt.Fprintf(w, "  query %s: total %d, reachable %d, %d planned pages of %d rows\n",
				rep.Query, rep.Plan.Total, rep.Plan.Reachable, rep.Plan.Pages, rep.Plan.Size)
		}
		fmt.Fprintf(w, "  credits: estimated %d, billed %d", rep.CreditsEstimated, rep.Credits)
		if rep.CreditsEarlier > 0 {
			fmt.Fprintf(w, " (%d in all over %d attempts)", rep.CreditsInAll, rep.Attempts)
		}
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
				if sl.Unreachable > 0 {
					fmt.Fprintf(w, ", %d out of reach (nothing splits it further)", sl.Unreachable)
				}
				fmt.Fprintln(w)
			}
		}
		if rep.TotalUnknown {
			fmt.Fprintf(w, "  the API did not tell the total: pages were asked one after another until a short one; %d rows found\n", rep.Plan.Total)
		}
		if rep.SliceInDoubt > 0 {
			fmt.Fprintf(w, "  ROWS IN DOUBT: the slices' totals did not add up to the query's (by %d rows): the API applies a slicing filter otherwise than documented, or the data changed; rows may be missing or repeated, and they are counted below as out of reach\n", rep.SliceInDoubt)
		}
		if rep.Unreachable > rep.SliceInDoubt {
			hint := "narrow the query with --filter to get them"
			if !rep.Sliced {
				hint = "slicing was off (--no-slice)"
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
	printFiles(w, res)
}

func printFiles(w io.Writer, res *runResult) {
	if res == nil {
		return
	}
	for _, f := range res.files {
		if f.Path == "-" {
			continue
		}
		fmt.Fprintf(w, "  wrote %s (%s, %d rows", f.Path, f.Format, f.Rows)
		if f.CellsGuarded > 0 {
			fmt.Fprintf(w, ", %d cells starting with = + - @ got a leading ', see --csv-raw", f.CellsGuarded)
		}
		fmt.Fprintln(w, ")")
	}
	if res.manifest != "" {
		if res.success {
			fmt.Fprintf(w, "  wrote %s and _SUCCESS\n", res.manifest)
		} else {
			fmt.Fprintf(w, "  wrote %s, and no _SUCCESS: not every query succeeded\n", res.manifest)
		}
	}
}

// printMulti reports a run of several queries: a line a query.
func printMulti(w io.Writer, runID string, res *runResult) {
	var rows, credits int64
	failed := 0
	for _, q := range res.queries {
		if q.Report != nil {
			rows += q.written()
			credits += q.Report.Credits
		}
		if q.Err != nil {
			failed++
		}
	}
	fmt.Fprintf(w, "serpstat-export: %d queries (run %s): %d rows, %d credits billed, %d failed\n", len(res.queries), runID, rows, credits, failed)
	for _, q := range res.queries {
		switch {
		case q.Err != nil:
			fmt.Fprintf(w, "  query %-30s failed: %v\n", q.Query, q.Err)
		case q.Earlier != nil:
			fmt.Fprintf(w, "  query %-30s done by an earlier run of this command: %d rows, kept, not paid for again\n", q.Query, q.Earlier.Rows)
		case q.Report != nil:
			r := q.Report
			fmt.Fprintf(w, "  query %-30s %s: total %d, %d rows, %d pages, %d credits", q.Query, r.StopReason, r.Plan.Total, q.written(), r.Pages, r.Credits)
			if r.Sliced {
				fmt.Fprintf(w, ", %d slices", len(r.Slices))
			}
			if r.Unreachable > 0 {
				fmt.Fprintf(w, ", %d out of reach", r.Unreachable)
			}
			if q.Dropped > 0 {
				fmt.Fprintf(w, ", %d already exported (incremental)", q.Dropped)
			}
			fmt.Fprintln(w)
		}
	}
	printFiles(w, res)
}

// printError says why a run failed and what to do next.
func printError(w io.Writer, command string, s settings, rep *exporter.Report, err error, code int) {
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
		fmt.Fprintf(w, "serpstat-export %s: %v\n", command, err)
		if serpstat.Classify(err) == serpstat.ClassInvalid {
			fmt.Fprintln(w, "  the API refused the query's params or filter; fix them and run again")
		} else {
			fmt.Fprintf(w, "  run 'serpstat-export %s --help' for its flags; nothing was sent, no credit spent\n", command)
		}
	case exitTempFail:
		printCoordinatorLost(w, err)
	case exitCanceled:
		fmt.Fprintln(w, "serpstat-export: interrupted: requests in flight were finished and saved; no output was committed")
	default:
		fmt.Fprintf(w, "serpstat-export: %v\n", strings.TrimSpace(err.Error()))
	}
}

func printBudgetStop(w io.Writer, s settings, rep *exporter.Report, err error) {
	if errors.Is(err, pager.ErrAccountBudget) {
		printAccountBudgetStop(w, s, rep, err)
		return
	}
	if errors.Is(err, pager.ErrBalanceFloor) {
		fmt.Fprintf(w, "serpstat-export: stopped to keep the account's balance above --keep-balance %d: %v\n", s.KeepBalance, err)
		if rep != nil && rep.CreditsLeft > 0 {
			fmt.Fprintf(w, "  the rest of the export needs %d more credits\n", rep.CreditsLeft)
		}
		return
	}
	var bs *budgetStop
	if errors.As(err, &bs) {
		fmt.Fprintf(w, "serpstat-export: stopped by the budget: %d credits spent of --budget %d; %d of %d queries finished", bs.spent, s.Budget, bs.finished, bs.of)
		if bs.recorded && bs.finished > 0 {
			fmt.Fprint(w, ", their outputs committed and recorded: run the same command again with a higher --budget to export the others without paying for those again")
		}
		fmt.Fprintln(w)
		return
	}
	spent := int64(0)
	if rep != nil {
		spent = rep.CreditsInAll // --budget caps the export in all
	}
	fmt.Fprintf(w, "serpstat-export: stopped by the budget: %d credits spent of --budget %d", spent, s.Budget)
	if rep != nil && rep.CreditsEstimated > 0 {
		// What is spent stays spent; the pages stored are not bought again.
		fmt.Fprintf(w, "; the full export needs %d credits (%d more); raise --budget to at least %d", rep.CreditsEstimated, rep.CreditsLeft, spent+rep.CreditsLeft)
		if !s.Partial {
			fmt.Fprint(w, ", or add --partial to export the whole pages that fit")
		}
	}
	fmt.Fprintln(w)
}
