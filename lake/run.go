package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// Settings is what a run needs to know, as plain values; the command's
// flags and config fill it in.
type Settings struct {
	// RunID is the run's id: {run}, the manifest's run_id.
	RunID string
	// Date is {date}, YYYY-MM-DD; empty: today (UTC).
	Date string
	// Method is {method} and the manifest's method; empty: the name of
	// Run.Descriptor when the run has one, else DefaultMethod.
	Method string
	// Queries are the domains to export, each once.
	Queries []string
	// ManyQueries: the queries came as a list (several --query, or
	// --queries-file), so each query's spool is named after it.
	ManyQueries bool
	// Duplicates are the queries given that were dropped as the same as
	// another once normalised (PlanQueries); Export adds those it finds
	// in Queries.
	Duplicates []Duplicate

	Out            []string // --out templates
	Format         string   // --format
	MaxRowsPerFile int
	MaxRows        int
	CSVRaw         bool
	CSVBOM         bool
	Incremental    string // the incremental state's path or URL
	Manifest       string // --manifest
	StateDir       string
	Restart        bool
	Workers        int
	Partial        bool
	NoSlice        bool
	KeepBalance    int64
	Budget         int64   // --budget: what an estimate says fits (the run's Budget enforces it)
	RPS            float64 // --rps: what an estimate's time is at
	S3             dest.S3Options

	// RepairSpool rebuilds a spool's damaged journal (credits.json,
	// state.json) from what can be read (exporter.RepairSpool); without
	// it a damaged journal is a UsageError naming it.
	RepairSpool bool

	// Fresh starts over on purpose: the run record of an earlier run of
	// the same command and date is discarded (a damaged one kept as
	// .damaged), and the files of the queries exported again are removed
	// once their new ones are committed. Restart implies it.
	Fresh bool
}

func (s *Settings) s3() dest.S3Options { return s.S3 }

// Run is one run of the lake: every query in turn, with one rate limiter
// and one budget (those of Pager), into the outputs of Settings.Out.
type Run struct {
	Settings
	// Pager is the first query's pager, its Params validated: every
	// query's pager is made from it (pager.Pager.For) and shares its
	// Fetcher, Limiter and Retry.
	Pager *pager.Pager
	// Budget is the run's budget, shared by every query (--budget,
	// --keep-balance, the account's); nil: none.
	Budget *pager.Budget
	// Logger logs the run; nil: slog.Default().
	Logger *slog.Logger
	// Stdout is where --out - writes.
	Stdout io.Writer
	// Stop asks the exporter to stop (see exporter.Exporter.Stop).
	Stop <-chan struct{}

	// QueryLogger, if set, is the logger of a query's pager (the command
	// tags its lines with the query); nil: Logger.
	QueryLogger func(query string) *slog.Logger
	// Lock, if set, takes the lock named name for every host sharing it
	// (package coord) until the run's process ends, and succeeds when
	// this process holds it already. Export takes, before anything is
	// sent, the locks of the state dir on object storage and of every
	// object written (see sharedLocks), and, before a query's spool is
	// opened, the lock of that export to that destination. Its error
	// wraps coord.ErrLocked (a *coord.LockedError naming the holder) when
	// another holds it. Nil: objects are not locked.
	Lock func(ctx context.Context, name string) error
	// Balance, if set, reads the account's balance for KeepBalance.
	Balance func(ctx context.Context) (int64, error)
	// Progress, if set, shows an exporter's progress until the returned
	// func is called.
	Progress func(e *exporter.Exporter) (stop func())
	// Descriptor is the method exported: the manifest's schema; nil:
	// backlinks.NewBacklinks.
	Descriptor *serpstat.Method
}

// descriptor is the method exported.
func (r *Run) descriptor() *serpstat.Method {
	if r.Descriptor != nil {
		return r.Descriptor
	}
	return backlinks.NewBacklinks
}

// QueryResult is what one query of a run did.
type QueryResult struct {
	Query   string
	Params  serpstat.Params
	Report  *exporter.Report
	Err     error
	Files   []*fileRecord
	Spool   string // kept for a resume
	Dropped int64  // boundary rows an earlier incremental run exported
	// OlderThanCursor: rows answered older than the incremental cursor,
	// not written (CursorIgnoredError).
	OlderThanCursor int64
	Earlier         *RecordedQuery // set when an earlier run of the command exported it (reused)
	// CreditsInAll is what the query cost in every attempt of the run
	// (the run record's count, else its spool's).
	CreditsInAll int64

	// UnknownKeys counts, per answer key the method's descriptor does
	// not know, the rows that held it (from the exporter's report).
	UnknownKeys map[string]int64
	// Intersect names the domain each links_count_N column counts for
	// (getIntersect), as the answers said; the manifest shows it.
	Intersect map[string]string

	spool *spool // to remove once the shared outputs are committed
	// committed: the outputs holding the query's rows were committed (its
	// own, or the shared ones at the end of the run; a reused query's
	// earlier).
	committed bool
}

func (q *QueryResult) unknownKeys() map[string]int64 { return q.UnknownKeys }

// Result is what a run did.
type Result struct {
	queries  []*QueryResult
	files    []*fileRecord
	manifest string
	success  bool // _SUCCESS was written beside the manifest
	multi    bool
	method   string
	// duplicates are the queries dropped as another's duplicate.
	duplicates []Duplicate

	date   string // the run's logical date
	record string // the run record's path or URL; "" for none
	fresh  bool
	// notStarted is the queries a stop of the whole run left untried.
	notStarted int
}

// Report is the single query's report, or nil for a multi-query run.
func (r *Result) Report() *exporter.Report {
	if r == nil || r.multi || len(r.queries) != 1 {
		return nil
	}
	return r.queries[0].Report
}

// Fatal tells whether err stops the whole run rather than one query: auth
// and credits, the budget, an interruption, outputs that cannot be
// written.
func Fatal(ctx context.Context, err error) bool {
	var ue *UsageError
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

// Export validates the outputs, then exports every query in turn with one
// rate limiter and one budget, commits the outputs, and writes the
// manifest, _SUCCESS and the incremental state. Nothing is sent before
// all input is valid.
func (r *Run) Export(ctx context.Context) (*Result, error) {
	if r.Method == "" {
		r.Method = r.descriptor().Name
	}
	if err := r.planQueries(true); err != nil {
		return nil, err
	}
	r.Fresh = r.Fresh || r.Restart
	s, log := r.Settings, r.logger()
	queries := s.Queries
	if len(queries) == 0 {
		return nil, &serpstat.ParamError{Field: "query", Msg: "is required: the domain to analyse, e.g. --query example.com (or --queries-file FILE)"}
	}
	multi := len(queries) > 1
	if len(s.Out) == 0 {
		return nil, usagef("--out is required: a file such as backlinks.csv, backlinks.ndjson or backlinks.parquet, or - for stdout")
	}
	specs, err := parseOuts(s.Out, s.Format, multi, s.MaxRowsPerFile, s.method())
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
	date := s.date()
	locks, err := lockOutputs(specs, queries, date, s.RunID)
	if err != nil {
		return nil, err
	}
	defer locks.release()
	manifestAt := manifestTarget(s, specs, queries, multi, date, s.RunID)
	if err := r.lockShared(ctx, specs, queries, date, manifestAt); err != nil {
		return nil, err
	}
	if err := probeDestinations(ctx, s, specs, queries, date, s.RunID); err != nil {
		return nil, err
	}
	prev, err := loadEarlier(ctx, manifestAt, s.s3())
	if err != nil {
		return nil, err
	}
	var state *State
	if s.Incremental != "" {
		if m := r.descriptor(); m.Cursor == nil {
			return nil, usagef("--incremental: %s has no first-seen-like date to follow, so it cannot be loaded incrementally", m.Name)
		}
		if state, err = LoadState(ctx, s.Incremental, s.s3(), r.descriptor()); err != nil {
			return nil, err
		}
	}
	startBalance := int64(0)
	if s.KeepBalance > 0 {
		if r.Balance == nil {
			return nil, errors.New("lake: KeepBalance needs Run.Balance")
		}
		bal, err := r.Balance(ctx)
		if err == nil && bal <= s.KeepBalance {
			err = fmt.Errorf("the account's balance is %d credits, not above --keep-balance %d: %w", bal, s.KeepBalance, pager.ErrBalanceFloor)
		}
		if err != nil {
			return nil, err
		}
		r.budget().KeepBalance(bal, s.KeepBalance)
		startBalance = bal
	}

	// Several queries into their own outputs: what became of each query
	// is recorded, and one an earlier run of the command finished is
	// reused (see record.go).
	var record *runRecord
	if multi && allPerQuery(specs) {
		if record, err = r.openRunRecord(ctx, r.Pager.Params(), date); err != nil {
			return nil, err
		}
		defer record.close()
	}
	res := &Result{multi: multi, method: s.method(), duplicates: s.Duplicates, date: date, record: record.place(), fresh: s.Fresh}
	newOutput := func(sp *outSpec, query string) *output {
		maxRows := s.MaxRowsPerFile
		if !sp.parts {
			maxRows = 0 // an --out without {part} is one file: parts would overwrite it
		}
		return &output{spec: sp, method: r.descriptor(), query: query, date: date, run: s.RunID, part: prev.firstPart(sp, query, date, s.RunID),
			maxRows: maxRows, csvRaw: s.CSVRaw, csvBOM: s.CSVBOM,
			skipEmpty: s.Incremental != "" && !sp.plainFile() && !sp.stdout,
			qcol:      multi && !sp.perQuery, ctx: ctx, s3: s.s3(), stdout: r.Stdout}
	}
	var shared []*output // outputs every query writes to, with a query column
	for _, sp := range specs {
		if !sp.perQuery {
			shared = append(shared, newOutput(sp, ""))
		}
	}
	var runErr error
	for i, q := range queries {
		qr, missing := record.reuse(q, state)
		if missing != "" {
			log.Warn("done by an earlier run of this command, but a file it wrote is gone: exported again", "query", q, "missing", missing)
		}
		if qr != nil {
			log.Info("done by an earlier run of this command: reused, not bought or written again", "query", q, "rows", qr.Report.Rows, "exported_by_run", qr.Earlier.Run)
			res.queries = append(res.queries, qr)
			res.files = append(res.files, qr.Files...)
			continue
		}
		qr = r.exportQuery(ctx, q, specs, shared, newOutput, state, startBalance)
		res.queries = append(res.queries, qr)
		if qr.Err == nil && record != nil && s.Incremental == "" {
			r.dropSuperseded(ctx, qr, specs, date, prev, record)
		}
		res.files = append(res.files, qr.Files...)
		if record != nil {
			var st *QueryState
			if state != nil && qr.Err == nil {
				st = state.Queries[q]
			}
			if err := record.note(ctx, s.RunID, qr, st); err != nil {
				log.Warn("could not record what became of the query: a rerun would export it again", "query", q, "error", err)
			}
		}
		if qr.Err != nil {
			if interrupted(ctx, qr.Err) {
				log.Warn("query interrupted", "query", q, "error", qr.Err)
			} else {
				log.Error("query failed", "query", q, "error", qr.Err)
			}
			if !multi || Fatal(ctx, qr.Err) {
				runErr = qr.Err
				res.notStarted = len(queries) - i - 1
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
		var written []*fileRecord
		for _, o := range shared {
			written = append(written, o.written()...)
		}
		res.files = append(res.files, written...)
		if runErr == nil && len(shared) > 0 {
			for _, qr := range res.queries {
				qr.committed = true // its rows are in the shared outputs just committed (a reused one's, in its run's)
			}
		}
		if runErr == nil && len(shared) > 0 && s.Incremental == "" {
			// The shared outputs hold every query of this run: the parts
			// an earlier run of them left on this date go, so no row is
			// there twice.
			r.dropEarlier(ctx, "", written, specs, date, prev, nil)
		}
	}
	for _, qr := range res.queries {
		if qr.spool == nil {
			continue
		}
		if runErr == nil {
			removeSpool(ctx, log, qr.spool)
		} else if !qr.spool.removed {
			qr.Spool = RedactURL(qr.spool.place) // kept for a resume
		}
	}
	if runErr != nil {
		if multi && errors.Is(runErr, pager.ErrBudgetExhausted) {
			bs := &BudgetStop{err: runErr, Of: len(queries), Recorded: record != nil}
			for _, qr := range res.queries {
				if qr.Report != nil {
					bs.Spent += qr.Report.Credits
				}
				if qr.Err == nil {
					bs.Finished++
				}
			}
			runErr = bs
		}
		return res, runErr
	}
	if err := r.writeManifest(ctx, res, date, manifestAt, prev); err != nil {
		return res, err
	}
	if state != nil {
		// Only now that every output is committed.
		if err := state.save(ctx, s.Incremental, s.s3()); err != nil {
			return res, fmt.Errorf("--incremental: %w", err)
		}
	}
	if record != nil && s.Incremental != "" && record.done(queries) {
		// The incremental state keeps the next run from buying a row
		// again: the record has done its work.
		if err := record.remove(ctx); err != nil {
			log.Warn("could not remove the run record", "error", err)
		} else {
			res.record = ""
		}
	}
	for _, qr := range res.queries {
		if qr.Err != nil {
			return res, &QueriesFailed{failed: countFailed(res), of: len(res.queries), first: qr.Query, err: qr.Err}
		}
	}
	return res, nil
}

// QueriesFailed ends a run whose other queries were exported: exit 1.
type QueriesFailed struct {
	failed, of int
	first      string
	err        error
}

func (e *QueriesFailed) Error() string {
	return fmt.Sprintf("%d of %d queries failed; the first: %s: %v", e.failed, e.of, e.first, e.err)
}

func countFailed(r *Result) int {
	n := 0
	for _, q := range r.queries {
		if q.Err != nil {
			n++
		}
	}
	return n
}

// exportQuery exports one query into its own outputs and the shared ones.
func (r *Run) exportQuery(ctx context.Context, q string, specs []*outSpec, shared []*output,
	newOutput func(*outSpec, string) *output, state *State, startBalance int64) *QueryResult {
	s, log := r.Settings, r.logger()
	qr := &QueryResult{Query: q}
	if err := serpstat.ValidateQueryFor(r.Pager.Params().SearchType, q); err != nil {
		qr.Err = err
		return qr
	}
	params, prev, err := r.queryParams(q, state)
	if err != nil {
		qr.Err = err
		return qr
	}
	qr.Params = params
	p := r.pagerFor(q, params)
	var own []*output
	for _, sp := range specs {
		if sp.perQuery {
			own = append(own, newOutput(sp, q))
		}
	}
	for _, o := range shared {
		o.SetQuery(q)
	}
	spool, err := r.openSpool(ctx, q, p)
	if err != nil {
		qr.Err = err
		return qr
	}
	defer spool.close()
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
		t = newTracker(prev, r.descriptor())
		for _, o := range sinks {
			t.next = append(t.next, o)
		}
		sinks = []exporter.Sink{t}
	}
	e := &exporter.Exporter{Pager: p, Budget: r.budget(), Sinks: sinks, Workers: s.Workers, Partial: s.Partial,
		NoSlice: s.NoSlice, Checkpoint: spool.Spool, Stop: r.Stop, Logger: p.Logger(), StartBalance: startBalance}
	stopProgress := r.progress(e)
	rep, err := e.Run(ctx)
	stopProgress()
	qr.Report, qr.Err = rep, err
	if rep != nil {
		qr.UnknownKeys, qr.Intersect = rep.UnknownKeys, rep.Intersect
	}
	if t != nil {
		qr.Dropped, qr.OlderThanCursor = t.dropped, t.older
	}
	inDoubt := errors.Is(err, exporter.ErrRowsInDoubt)
	if err == nil || inDoubt {
		if cerr := commitAll(ctx, own); cerr != nil {
			qr.Err, inDoubt = cerr, false
		} else {
			qr.committed = len(own) > 0
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
		spool.removeIfEmpty(ctx)
		if !spool.removed {
			qr.Spool = RedactURL(spool.place)
		}
		return qr
	}
	if state != nil {
		state.Queries[q] = t.state(prev, time.Now())
	}
	if len(shared) == 0 {
		removeSpool(ctx, log, spool)
	} else {
		// Its rows are in the shared outputs, which are committed only
		// at the end of the run: the spool stays until then.
		qr.spool = spool
	}
	return qr
}

// writeManifest writes _manifest.json next to the data (or at --manifest)
// and then, when every query of the run succeeded, an empty _SUCCESS
// beside it, when the run wrote to templated paths, object storage or
// several queries, or --manifest asks for one. The manifest lists the
// files earlier runs left there too (see earlier.merge); a run with a
// failed query removes an earlier run's _SUCCESS.
func (r *Run) writeManifest(ctx context.Context, res *Result, date, target string, prev *earlier) error {
	s := r.Settings
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
	m := manifest{RunID: s.RunID, Created: time.Now().UTC(), Date: date, Method: s.method(), Files: files, Paths: pathsManifest,
		Schema: schemaOf(r.descriptor(), res.multi && hasShared(s.Out)), CreditsThisAttempt: r.budget().Spent(), Complete: true}
	for _, qr := range res.queries {
		mq := manifestQuery{Query: qr.Query, Method: s.method(), Run: s.RunID, Status: StatusOf(ctx, qr.Err), Params: qr.Params,
			Intersect: qr.Intersect, CreditsBilled: qr.creditsInAll()}
		if qr.Report != nil {
			mq.Rows = qr.written()
			mq.NoNewRows = s.Incremental != "" && mq.Rows == 0 && qr.Err == nil
		}
		if qr.Earlier != nil {
			mq.Run, mq.Reused = qr.Earlier.Run, true
		}
		if qr.Err != nil {
			mq.Error, m.Complete = qr.Err.Error(), false
		}
		m.CreditsBilled += mq.CreditsBilled
		m.Queries = append(m.Queries, mq)
	}
	prev.merge(&m)
	// target is where the run read the earlier runs' manifest
	// (manifestTarget); where it is unknown, the files written tell.
	if target == "" && len(files) == 0 {
		target = emptyRunManifest(s.Out, date, s.method())
	} else if target == "" {
		// Beside the data, and never below where the templates vary
		// (a query with no new rows may have written no file).
		at := files
		if templated && res.multi {
			at = append([]*fileRecord{{Path: emptyRunManifest(s.Out, date, s.method())}}, files...)
		}
		target = besideData(at, "_manifest.json")
	}
	data, err := json.MarshalIndent(m.relativeTo(target), "", "  ")
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

func (s *Settings) date() string {
	if s.Date != "" {
		return s.Date
	}
	return time.Now().UTC().Format(time.DateOnly)
}

func (s *Settings) method() string {
	if s.Method != "" {
		return s.Method
	}
	return DefaultMethod
}

func (r *Run) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// queryParams are query q's params: the run's, and for an incremental
// load the rows first seen since the state's newest day (prev, the
// query's state, nil on its first load).
func (r *Run) queryParams(q string, state *State) (params serpstat.Params, prev *QueryState, err error) {
	params = r.Pager.Params()
	params.Query = q
	if state == nil {
		return params, nil, nil
	}
	prev = state.Queries[q]
	if prev != nil && prev.Newest != "" {
		c, err := prev.Since(r.descriptor())
		if err != nil {
			return params, prev, err
		}
		params.ComplexFilter = AndInto(params.ComplexFilter, c)
	}
	return params, prev, nil
}

// pagerFor is query q's pager: the run's, for params.
func (r *Run) pagerFor(q string, params serpstat.Params) *pager.Pager {
	log := r.logger()
	if r.QueryLogger != nil {
		log = r.QueryLogger(q)
	}
	return r.Pager.For(params, log)
}

// budget is the run's budget.
func (r *Run) budget() *pager.Budget {
	if r.Budget == nil {
		r.Budget = pager.NewBudget(0)
	}
	return r.Budget
}

func (r *Run) progress(e *exporter.Exporter) (stop func()) {
	if r.Progress != nil {
		return r.Progress(e)
	}
	return func() {}
}

// creditsInAll is what the query cost in every attempt of the run.
func (q *QueryResult) creditsInAll() int64 {
	if q.CreditsInAll > 0 || q.Report == nil {
		return q.CreditsInAll
	}
	return q.Report.CreditsInAll
}
