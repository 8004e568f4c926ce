package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/lake"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

const exportHelp = `Usage: serpstat-export export --query DOMAIN --out FILE [--out FILE ...] [flags]

Exports every new backlink of DOMAIN (getNewBacklinks), page by page up to
the query's total or the API's 60,000-row wall, into each --out file in one
pass; --method another paged method, or one that is not paged (summary-v2,
summary, top-anchors, intersect-summary, distribution-sdr, distribution-tld,
changes-history: one answer per query, at its price; paging flags such as
--size, --sort or --filter are refused for them). The token comes from
$SERPSTAT_TOKEN or --token-file.

Examples:
  serpstat-export export --query example.com --out backlinks.parquet
  serpstat-export export --query example.com --out links.csv --out links.ndjson --budget 20000
  serpstat-export export --config nightly.yaml --out - | jq .url_from
  serpstat-export export --method lost-backlinks --search-type url --query https://example.com/page --out lost.csv
  serpstat-export export --method anchors --query example.com --param count=2 --out anchors.csv
  serpstat-export export --method summary-v2 --queries-file domains.txt --out summary.parquet

Flags:
`

func runExport(ctx context.Context, stop <-chan struct{}, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	s, u, err, code, done := parseSettings(fs, args, exportHelp, stdout, stderr)
	if done {
		return code
	}
	if err == nil && s.StopGrace < 0 {
		err = usagef("--stop-grace must be 0 or more (how long uploads may run after Ctrl-C or SIGTERM); got %v", s.StopGrace)
	}
	ctx, endWatch := watchStop(ctx, stop, s.StopGrace, u.log, stderr)
	defer endWatch()
	// The run's buckets, closed once the outputs are committed or aborted
	// and the summary written.
	s.buckets = &dest.Buckets{}
	defer func() { _ = s.buckets.Close() }()
	mw, merr := newMetricsWriter(s, err)
	if err == nil {
		err = merr
	}
	stopProfiles := startProfiles(s, u)
	res, err := export(ctx, stop, s, err, stdin, stdout, u)
	stopProfiles()
	code = exitCode(ctx, err)
	if code == exitFailure && stopped(stop) {
		code = exitCanceled // what failed did so because the run was stopped
	}
	sum := lake.NewSummary(u.runID, "export", statusOf[code], code, res, err, time.Since(u.start))
	if merr := mw.write(ctx, u, sum); merr != nil && code == exitOK {
		code, err = exitFailure, merr // --metrics-strict
		sum = lake.NewSummary(u.runID, "export", statusOf[code], code, res, err, time.Since(u.start))
	}
	u.finish(s, sum, res, err)
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
	method *serpstat.Method // --method
	// cfg is the first query's pager's, and budget the run's: start makes
	// the pager once connect has chosen its pace.
	cfg    pager.Config
	budget *pager.Budget
	pager  *pager.Pager // made by start; every query's is made from it

	coord *coord.Coordinator // --coordinator; nil without
	// estimating: the job only probes (estimate), it is no attempt of an
	// export's run in the account budget (see accountRun).
	estimating bool
}

// queryLogger tags a query's log lines with it.
func (j *job) queryLogger(q string) *slog.Logger {
	return slog.New(withQuery(j.u.log.Handler(), q))
}

// start connects to the coordinator, if one is set, and makes the pager.
func (j *job) start(ctx context.Context) error {
	if err := j.connect(ctx); err != nil {
		return err
	}
	j.pager = pager.New(j.cfg)
	return nil
}

// lakeRun is the run of queries in the lake, wired to the job.
func (j *job) lakeRun(queries []string, stop <-chan struct{}, stdout io.Writer) *lake.Run {
	run := &lake.Run{
		Settings:    j.s.lake(j.u.runID, queries),
		Pager:       j.pager,
		Budget:      j.budget,
		Logger:      j.u.log,
		Stdout:      stdout,
		Stop:        stop,
		QueryLogger: j.queryLogger,
		Balance:     j.balance,
		Progress:    func(e *exporter.Exporter) func() { return j.u.progress(e, j.s) },
		RunProgress: func(sn func() lake.Snapshot) func() { return j.u.runProgress(sn, j.s) },
		Descriptor:  j.method,
	}
	if j.coord != nil {
		run.Lock = j.coord.Lock
	}
	return run
}

// prepare validates every query setting and builds the client and pager.
// Nothing is sent.
func prepare(s settings, u *ui) (*job, error) {
	log := u.log
	if err := s.checkNotPaged(); err != nil {
		return nil, err
	}
	params, err := s.params()
	if err != nil {
		return nil, err
	}
	m, err := s.method()
	if err != nil {
		return nil, err
	}
	if s.Incremental != "" && m.Cursor == nil {
		return nil, usagef("--incremental: %s has no first-seen-like date to follow, so it cannot be loaded incrementally; methods that can: %s", m.Name, incrementalMethods())
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
		HTTPClient:   &http.Client{Timeout: s.Timeout, Transport: keepAliveTransport()},
		UserAgent:    "serpstat-export/" + version,
	}
	cfg := pager.Config{
		Fetcher: client,
		Method:  m,
		Params:  params,
		Limiter: pager.NewThrottle(s.RPS),
		Retry:   pager.RetryPolicy{MaxAttempts: s.Retries, MaxWait: s.RetryMaxWait},
		MaxRows: s.MaxRows,
		Wall:    s.Wall,
		Logger:  log,
	}
	return &job{s: s, u: u, client: client, method: m, cfg: cfg, budget: pager.NewBudget(s.Budget)}, nil
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

// export validates everything, then hands the run to the lake: every
// query in turn with one rate limiter and one budget, the outputs
// committed, the manifest, _SUCCESS and the incremental state written.
// Nothing is sent before all input is valid.
func export(ctx context.Context, stop <-chan struct{}, s settings, loadErr error, stdin io.Reader, stdout io.Writer, u *ui) (*lake.Result, error) {
	if loadErr != nil {
		return nil, loadErr
	}
	plan, err := planQueries(s, stdin)
	if plan == nil {
		return nil, err
	}
	// Every bad query and output at once, before anything is sent.
	if err := lake.JoinUsage(err, lake.CheckOutputs(s.lake(u.runID, plan.Queries))); err != nil {
		return nil, err
	}
	s.Query = plan.Queries[0] // the other params are checked with it
	j, err := prepare(s, u)
	if err != nil {
		return nil, err
	}
	if err := j.start(ctx); err != nil {
		return nil, err
	}
	defer j.disconnect()
	run := j.lakeRun(plan.Queries, stop, stdout)
	run.Duplicates = plan.Duplicates
	return run.Export(ctx)
}

// lake is the run's settings for the lake.
func (s *settings) lake(runID string, queries []string) lake.Settings {
	return lake.Settings{
		RunID: runID, Queries: queries, ManyQueries: len(s.Queries) > 1 || s.QueriesFile != "",
		Out: s.Out, Format: s.Format, MaxRowsPerFile: s.MaxRowsPerFile, MaxRows: s.MaxRows,
		CSVRaw: s.CSVRaw, CSVBOM: s.CSVBOM, Incremental: s.Incremental, Manifest: s.Manifest,
		StateDir: s.StateDir, Restart: s.Restart, Fresh: s.Fresh, Date: s.Date, Workers: s.Workers, Partial: s.Partial, NoSlice: s.NoSlice,
		KeepBalance: s.KeepBalance, Budget: s.Budget, RPS: s.RPS, S3: s.s3(),
		RepairSpool: s.RepairSpool,
	}
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
		printCoordinatorLost(w, s, rep, err)
	case exitCanceled:
		fmt.Fprintln(w, "serpstat-export: interrupted: requests in flight were finished and saved; the outputs of the query interrupted were not committed (those listed as written above were)")
	case exitBrokenPipe:
		fmt.Fprintln(w, "serpstat-export: stdout was closed by its reader (a pipe into head or the like): no new page was requested after that; exit 141, as other tools stopped by a closed pipe")
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
	var bs *lake.BudgetStop
	if errors.As(err, &bs) {
		fmt.Fprintf(w, "serpstat-export: stopped by the budget: %d credits spent of --budget %d; %d of %d queries finished", bs.Spent, s.Budget, bs.Finished, bs.Of)
		if bs.Recorded && bs.Finished > 0 {
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
		if !s.Partial && !rep.NotPaged {
			fmt.Fprint(w, ", or add --partial to export the whole pages that fit")
		}
	}
	fmt.Fprintln(w)
}
