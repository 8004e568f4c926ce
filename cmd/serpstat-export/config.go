package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/lake"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// settings are every export setting, each declared once: a field here
// with its YAML key, bound to its flag in exportFlags. The environment
// name is derived from the flag (SERPSTAT_ + the flag name in upper case,
// - as _), and the flag-to-field mapping from the binding itself, so a
// flag cannot be forgotten by the config or the environment. Precedence:
// flags > environment > config file > defaults.
type settings struct {
	Method         string        `yaml:"method"`
	Intersect      stringList    `yaml:"intersect"`
	Query          string        `yaml:"query"`
	Queries        stringList    `yaml:"queries"`
	QueriesFile    string        `yaml:"queries_file"`
	MaxRowsPerFile int           `yaml:"max_rows_per_file"`
	Manifest       string        `yaml:"manifest"`
	Incremental    string        `yaml:"incremental"`
	S3Endpoint     string        `yaml:"s3_endpoint"`
	S3Region       string        `yaml:"s3_region"`
	S3PathStyle    bool          `yaml:"s3_path_style"`
	Out            stringList    `yaml:"out"`
	Format         string        `yaml:"format"`
	SearchType     string        `yaml:"search_type"`
	Sort           string        `yaml:"sort"`
	Order          string        `yaml:"order"`
	Size           int           `yaml:"size"`
	LinkPerDomain  optionalInt   `yaml:"link_per_domain"`
	Params         paramMap      `yaml:"params"`
	Filter         jsonFilter    `yaml:"filter"`
	FilterFile     string        `yaml:"filter_file"`
	Endpoint       string        `yaml:"endpoint"`
	Token          string        `yaml:"-"` // --token or $SERPSTAT_TOKEN: never in a config file
	TokenFile      string        `yaml:"token_file"`
	TokenInQuery   bool          `yaml:"token_in_query"`
	RPS            float64       `yaml:"rps"`
	Workers        int           `yaml:"workers"`
	Wall           int           `yaml:"wall"`
	NoSlice        bool          `yaml:"no_slice"`
	Budget         int64         `yaml:"budget"`
	Partial        bool          `yaml:"partial"`
	MaxRows        int           `yaml:"max_rows"`
	KeepBalance    int64         `yaml:"keep_balance"`
	Timeout        time.Duration `yaml:"timeout"`
	Retries        int           `yaml:"retries"`
	RetryMaxWait   time.Duration `yaml:"retry_max_wait"`
	StateDir       string        `yaml:"state_dir"`
	Restart        bool          `yaml:"restart"`
	StopGrace      time.Duration `yaml:"stop_grace"`
	RepairSpool    bool          `yaml:"repair_spool"`
	Fresh          bool          `yaml:"fresh"`
	Date           string        `yaml:"date"`
	LogLevel       string        `yaml:"log_level"`
	LogFormat      string        `yaml:"log_format"`
	Quiet          bool          `yaml:"quiet"`
	Progress       string        `yaml:"progress"`
	ProgressEvery  time.Duration `yaml:"progress_interval"`
	SummaryJSON    string        `yaml:"summary_json"`
	CSVRaw         bool          `yaml:"csv_raw"`
	CSVBOM         bool          `yaml:"csv_bom"`
	Insecure       bool          `yaml:"insecure"`
	CPUProfile     string        `yaml:"cpuprofile"`
	MemProfile     string        `yaml:"memprofile"`

	Coordinator         string        `yaml:"coordinator"`
	AccountBudget       int64         `yaml:"account_budget"`
	AccountBudgetWindow time.Duration `yaml:"account_budget_window"`

	// The run's figures for Prometheus (metrics.go).
	MetricsFile     string `yaml:"metrics_file"`
	MetricsPush     string `yaml:"metrics_push"`
	MetricsInstance string `yaml:"metrics_instance"`
	MetricsStrict   bool   `yaml:"metrics_strict"`

	tokenOnCommandLine bool // --token was given as a flag: other users can see it

	// given names the settings a layer set, by flag name, with the
	// layer: "the config", "the environment" or "a flag". A default
	// nobody set is not in it (see checkNotPaged).
	given map[string]string

	// buckets is the run's open buckets (nil: opened per call), made and
	// closed by the command that runs.
	buckets *dest.Buckets
}

// Defaults.
const (
	defaultSearchType    = serpstat.SearchDomainWithSubdomains
	defaultRPS           = 1.0
	defaultLogLevel      = "info"
	defaultProgress      = "auto"
	defaultProgressEvery = 10 * time.Second
)

func defaultSettings() settings {
	return settings{
		Method:        backlinks.NewBacklinks.Name,
		SearchType:    defaultSearchType,
		Size:          serpstat.DefaultPageSize,
		Endpoint:      serpstat.DefaultEndpoint,
		RPS:           defaultRPS,
		Wall:          serpstat.Wall,
		Timeout:       serpstat.DefaultTimeout,
		RetryMaxWait:  pager.DefaultMaxWait,
		LogLevel:      defaultLogLevel,
		LogFormat:     "text",
		Progress:      defaultProgress,
		ProgressEvery: defaultProgressEvery,

		AccountBudgetWindow: defaultAccountBudgetWindow,
		StopGrace:           defaultStopGrace,
	}
}

// usageError is bad input: exit 2, nothing sent. It is the lake's, so
// that the lake's refusals exit 2 too.
type usageError = lake.UsageError

func usagef(format string, args ...any) error {
	return &usageError{Msg: fmt.Sprintf(format, args...)}
}

// exportFlags declares the export flags on fs, each bound to its field of
// a settings value that holds the defaults. Adding a setting is a field
// with its YAML key in settings and one line here: the config key, the
// environment name and the copy onto the loaded settings follow from the
// binding (TestEverySettingHasThreeNames checks it).
func exportFlags(fs *flag.FlagSet) *flagSettings {
	d := defaultSettings()
	b := &flagSettings{fs: fs, f: &d}
	f := b.f
	b.config = fs.String("config", "", "YAML config `file` (see config.example.yaml); flags and the environment override it")
	fs.StringVar(&f.Method, "method", d.Method, "the Backlinks `method` to export: "+backlinks.Names()+" (serpstat-export methods lists their columns, fields and prices; the last seven are not paged: one answer per query)")
	fs.Var(&f.Intersect, "intersect", "with --method intersect or intersect-summary, the `domains` (1 or 2, comma-separated, e.g. a.com,b.com) to compare --query with: the donors they share are exported")
	fs.Var(&f.Queries, "query", "the `domain` to export backlinks of, e.g. example.com; repeat it for several")
	fs.StringVar(&f.QueriesFile, "queries-file", "", "read domains from `path`, one a line (# comments, blank lines ignored; - for stdin)")
	fs.IntVar(&f.MaxRowsPerFile, "max-rows-per-file", 0, "start a new {part} of an --out after `N` rows (0: one part)")
	fs.StringVar(&f.Manifest, "manifest", "", "write _manifest.json (then _SUCCESS) at `path` instead of next to the data; {date}, {method} and {run} are filled in")
	fs.StringVar(&f.Incremental, "incremental", "", "incremental loads: keep the newest first_seen (the method's cursor: serpstat-export methods) of each query in `state` (a path or blob URL) and ask only for newer rows next time")
	fs.StringVar(&f.S3Endpoint, "s3-endpoint", "", "S3 endpoint `URL` for s3:// outputs (default: $AWS_ENDPOINT_URL or AWS)")
	fs.StringVar(&f.S3Region, "s3-region", "", "S3 region (default: $AWS_REGION)")
	fs.BoolVar(&f.S3PathStyle, "s3-path-style", false, "path-style S3 URLs (most S3-compatible servers want it)")
	fs.Var(&f.Out, "out", "output `file`; the extension picks the format (.csv, .ndjson, .jsonl, .parquet); - is stdout; repeat for several formats in one pass")
	fs.StringVar(&f.Format, "format", "", "`format` for --out - and for files without a known extension: csv, ndjson or parquet")
	fs.StringVar(&f.SearchType, "search-type", d.SearchType, "domain, domain_with_subdomains, url (--query is a page's URL) or part_url (a part of one); url and part_url for new-backlinks, lost-backlinks, outlinks, lost-outlinks, out-domains and anchors")
	fs.StringVar(&f.Sort, "sort", "", "sort `field`: one of the method's sort fields (serpstat-export methods lists them; new-backlinks: "+strings.Join(backlinks.NewBacklinks.Sorts, ", ")+"); default: the order new rows append in (new-backlinks: add asc)")
	fs.StringVar(&f.Order, "order", "", "`O` is asc or desc; unset: asc when the method's default sort is sent (no --sort: new-backlinks' add, the threat methods' lastupdate), else none is sent and the API's order applies (desc)")
	fs.IntVar(&f.Size, "size", d.Size, "rows per page, 1..1000")
	fs.Var(&f.LinkPerDomain, "link-per-domain", "at most `N` links per referring domain, sent as given: 0 is sent too (one link per page); unset sends none")
	fs.Var(&f.Params, "param", "a param of the method beyond the common ones, as `NAME=VALUE` (repeat it for several; "+methodParamNames()+"); checked against the method (serpstat-export methods lists each method's params)")
	fs.Var(&f.Filter, "filter", "complexFilter as `JSON`: an OR-list of AND-lists of conditions")
	fs.StringVar(&f.FilterFile, "filter-file", "", "read the complexFilter JSON from `path`")
	fs.StringVar(&f.Endpoint, "endpoint", d.Endpoint, "API `URL`")
	fs.StringVar(&f.TokenFile, "token-file", "", "read the API token from `path` (default: $SERPSTAT_TOKEN)")
	fs.BoolVar(&f.TokenInQuery, "token-in-query", false, "send the token as ?token= instead of the token header (it may then reach proxy logs)")
	fs.Float64Var(&f.RPS, "rps", d.RPS, "requests per second your plan allows (1 on most plans, 10 on top plans)")
	fs.IntVar(&f.Workers, "workers", d.Workers, "requests in flight at once, 1..64 (0: automatic, from the measured latency and --rps)")
	fs.BoolVar(&f.NoSlice, "no-slice", false, "do not slice a query over the 60,000-row wall: stop at the wall")
	fs.IntVar(&f.Wall, "wall", d.Wall, "rows the API serves at most per query (a fake's setting; the real API's is 60000)")
	fs.Int64Var(&f.Budget, "budget", 0, "spend at most `N` credits (0: no cap); stops with exit 3 before a request that may not fit")
	fs.BoolVar(&f.Partial, "partial", false, "when the full export costs more than --budget or --keep-balance allows, export the whole pages that fit and exit 0")
	fs.IntVar(&f.MaxRows, "max-rows", 0, "export at most `N` rows, the first in API order, paying for no more (0: all)")
	fs.Int64Var(&f.KeepBalance, "keep-balance", 0, "never let the account's balance fall below `N` credits (0: off); read with the free getStats call")
	fs.DurationVar(&f.Timeout, "timeout", d.Timeout, "time limit of one request")
	fs.IntVar(&f.Retries, "retries", 0, "attempts per page on transient failures (0: 8)")
	fs.DurationVar(&f.RetryMaxWait, "retry-max-wait", d.RetryMaxWait, "most time one page may spend waiting between retries")
	fs.StringVar(&f.StateDir, "state-dir", "", "checkpoint `dir` of the export (default: .FILE.spool next to the first --out file)")
	fs.BoolVar(&f.Restart, "restart", false, "discard the checkpoint of an earlier run of this export and start over (implies --fresh)")
	fs.BoolVar(&f.Fresh, "fresh", false, "start a run of several queries over on purpose: ignore the run record of an earlier run of the same command and date (queries it finished are exported again, their old files removed once the new ones are committed)")
	fs.StringVar(&f.Date, "date", "", "the run's logical `date`, YYYY-MM-DD (UTC, not in the future): fills {date}, the manifest, the summary and the run record (default: today, UTC)")
	fs.DurationVar(&f.StopGrace, "stop-grace", d.StopGrace, "after Ctrl-C or SIGTERM (no new page is requested), how long uploads and commits may still run before they are cancelled and the run exits 130")
	fs.BoolVar(&f.RepairSpool, "repair-spool", false, "rebuild a spool's damaged journal (credits.json, state.json) from what can be read, counting the credits spent no lower than its pages prove; the damaged file is kept as NAME.damaged")
	fs.StringVar(&f.LogLevel, "log-level", d.LogLevel, "debug, info, warn or error")
	fs.StringVar(&f.LogFormat, "log-format", d.LogFormat, "text or json (one JSON object per line, for schedulers)")
	fs.BoolVar(&f.Quiet, "q", false, "quiet: errors only (same as --quiet)")
	fs.BoolVar(&f.Quiet, "quiet", false, "quiet: errors only")
	fs.StringVar(&f.Progress, "progress", d.Progress, "auto (a live bar when stderr is a terminal, else a log line every --progress-interval), always or never")
	fs.DurationVar(&f.ProgressEvery, "progress-interval", d.ProgressEvery, "how often progress is logged when stderr is not a terminal (or reports no width)")
	fs.StringVar(&f.SummaryJSON, "summary-json", "", "also write the end summary as JSON to `path`, for schedulers")
	fs.StringVar(&f.CPUProfile, "cpuprofile", "", "write a CPU profile of the run to `file` (for go tool pprof)")
	fs.StringVar(&f.MemProfile, "memprofile", "", "write a heap profile at the end of the run to `file`")
	fs.BoolVar(&f.CSVRaw, "csv-raw", false, "write CSV cells exactly as the API sent them (by default a cell starting with = + - @ tab or CR gets a leading ' so spreadsheets do not run it)")
	fs.BoolVar(&f.CSVBOM, "csv-bom", false, "start CSV files with a UTF-8 byte order mark, so Excel on Windows reads non-ASCII text (e.g. пример.рф) right")
	fs.BoolVar(&f.Insecure, "insecure", false, "allow a plain http:// endpoint on another host (the token then travels in clear text)")
	fs.StringVar(&f.Coordinator, "coordinator", "", "share the rate, an account budget and locks with every job of the token through Redis at `URL` (redis://HOST:PORT/DB, rediss:// for TLS; default: $SERPSTAT_COORDINATOR; password: in the URL or $SERPSTAT_COORDINATOR_PASSWORD)")
	fs.Int64Var(&f.AccountBudget, "account-budget", 0, "every job of the token together spends at most `N` credits per --account-budget-window (needs --coordinator; 0: no cap); stops with exit 3, or 75 when Redis lost the count (a restart without persistence)")
	fs.DurationVar(&f.AccountBudgetWindow, "account-budget-window", d.AccountBudgetWindow, "the window of --account-budget (fixed windows from the Unix epoch: 24h is a UTC day)")
	fs.StringVar(&f.Token, "token", "", "the API token (discouraged: other users see it in the process list; use $SERPSTAT_TOKEN or --token-file)")
	metricsFlags(fs, f)
	return b
}

// params builds and validates the request params.
func (s *settings) params() (serpstat.Params, error) {
	q := s.Query
	if q == "" && len(s.Queries) > 0 {
		q = s.Queries[0]
	}
	p := serpstat.Params{
		Query:         strings.TrimSpace(q),
		SearchType:    s.SearchType,
		Intersect:     s.intersect(),
		Sort:          s.Sort,
		Order:         s.Order,
		Size:          s.Size,
		LinkPerDomain: s.LinkPerDomain.ptr(),
		Extra:         maps.Clone(s.Params),
	}
	m, err := s.method()
	if err != nil {
		return p, err
	}
	if !m.Paged() {
		p.Size = 0 // one answer per query: no page or size is sent
	}
	if m.SearchTypes == nil && p.SearchType == defaultSearchType {
		// The default search type, for a method that takes none.
		p.SearchType = ""
	}
	if p.Sort == "" && m.AppendSort != "" {
		// Live data: in the API's default order (check, last visited,
		// descending) every backlink found or re-crawled while exporting
		// lands at the top and shifts every row below it; first seen
		// ascending is the most stable of the documented sorts, because a
		// new backlink's first-seen date is the newest, so it lands at the
		// end, and a row's first-seen date never changes (check does on
		// every crawl, and url_from, anchor, links_external, domain_rank
		// put new rows anywhere). Both params are documented; the engine
		// still detects and repairs shifts whatever the order.
		p.Sort = m.AppendSort // "add" for new-backlinks
		if p.Order == "" {
			p.Order = "asc"
		}
	}
	if s.Size < 1 || s.Size > serpstat.MaxPageSize {
		return p, &serpstat.ParamError{Field: "size", Value: fmt.Sprint(s.Size), Msg: fmt.Sprintf("must be 1..%d", serpstat.MaxPageSize)}
	}
	raw := string(s.Filter)
	if s.FilterFile != "" {
		data, err := os.ReadFile(s.FilterFile)
		if err != nil {
			return p, usagef("--filter-file: %v", err)
		}
		raw = string(data)
	}
	if strings.TrimSpace(raw) != "" {
		f, err := m.ParseFilter([]byte(raw))
		if err != nil {
			return p, err
		}
		p.ComplexFilter = f
	}
	return p, m.Validate(p)
}

// check validates the settings that are not request params.
func (s *settings) check() error {
	switch {
	case s.RPS <= 0:
		return usagef("--rps must be more than 0 (your plan's requests per second); got %v", s.RPS)
	case s.Workers < 0 || s.Workers > exporter.MaxWorkers:
		return usagef("--workers must be 1..%d, or 0 for automatic; got %d", exporter.MaxWorkers, s.Workers)
	case s.Wall < 1:
		return usagef("--wall must be 1 or more; got %d", s.Wall)
	case s.Budget < 0:
		return usagef("--budget must be 0 (no cap) or more; got %d", s.Budget)
	case s.MaxRowsPerFile < 0:
		return usagef("--max-rows-per-file must be 0 (one part) or more; got %d", s.MaxRowsPerFile)
	case s.MaxRows < 0:
		return usagef("--max-rows must be 0 (all rows) or more; got %d", s.MaxRows)
	case s.KeepBalance < 0:
		return usagef("--keep-balance must be 0 (off) or more; got %d", s.KeepBalance)
	case s.Timeout <= 0:
		return usagef("--timeout must be more than 0; got %v", s.Timeout)
	case s.Retries < 0:
		return usagef("--retries must be 0 (default) or more; got %d", s.Retries)
	case s.RetryMaxWait <= 0:
		return usagef("--retry-max-wait must be more than 0; got %v", s.RetryMaxWait)
	case s.Endpoint == "":
		return usagef("--endpoint must not be empty")
	}
	if err := checkDate(s.Date, time.Now()); err != nil {
		return err
	}
	return s.checkCoordinator()
}

// s3 is the settings of s3:// targets.
func (s *settings) s3() dest.S3Options {
	return dest.S3Options{Endpoint: s.S3Endpoint, Region: s.S3Region, PathStyle: s.S3PathStyle, Buckets: s.buckets}
}

// token reads the API token from --token or $SERPSTAT_TOKEN, or from
// --token-file ($SERPSTAT_TOKEN_FILE, the config's token_file): whichever
// came from the higher layer (flags > environment > config), as layering
// clears the other one.
func (s *settings) token() (string, error) {
	if t := strings.TrimSpace(s.Token); t != "" {
		return t, nil
	}
	if s.TokenFile != "" {
		data, err := os.ReadFile(s.TokenFile)
		if err != nil {
			return "", usagef("--token-file: %v", err)
		}
		if t := strings.TrimSpace(string(data)); t != "" {
			return t, nil
		}
		return "", usagef("--token-file %s is empty", s.TokenFile)
	}
	if t := strings.TrimSpace(os.Getenv("SERPSTAT_TOKEN")); t != "" {
		return t, nil
	}
	return "", usagef("no API token: set SERPSTAT_TOKEN or pass --token-file PATH")
}
