package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

const fakeAPIHelp = `Usage: serpstat-export fake-api [--addr HOST:PORT] [--rows N] [flags]

Serves a fake of the Serpstat API on HOST:PORT, for demos and tests: every
Backlinks method (serpstat-export methods lists them), paged and not, with
the spec's answer keys and types, a deterministic data set of N rows per
method and query, billed like the real API, with its 60,000-row wall and
its over-rate error. It is as strict as the spec: between on dates, a date
in any format but the one its field documents (DD.MM.YYYY; YYYY-MM-DD for
the threat methods), undocumented link_type/link_nofollow values and
undocumented platform_type/threat_type codes are refused with 32117; rows
are sorted by any documented sort and order; flags answer the variants the
spec documents. The endpoint URL is printed on
stdout once it listens; it runs until interrupted.

The plan's rate: --rps R refuses requests over R a second with the API's
over-rate error (not billed), by a token bucket of --burst requests
(default ceil(R); --burst 1 is a limiter with no burst, as strict as it
gets: a request arriving less than 1/R after the last accepted one is
refused), or with --rate-shape window by a fixed window of floor(R)
requests in each second of the clock.

APIs that surprise the exporter, without a word in the answer:
  --ignore-filter FIELDS   conditions on these complexFilter fields
                           (comma-separated, e.g. add,lastupdate, or all; a
                           name no method filters on is refused) are checked
                           as usual (a bad value is still refused with 32117),
                           then have no effect: rows and total are those of
                           the filter without them, the other conditions
                           still apply; as an API that does not read a value,
                           e.g. a date in a format it ignores.
  --wall-empty             a page starting at or past the wall is answered
                           with an empty list (billed 1 credit, total still
                           the full total) instead of error 402; as an API
                           that stops serving rows at a wall earlier than the
                           client assumes.

Growing data, to try incremental loads: the rows of a query whose domain
starts with growing. (growing.example.com) are first seen in order, 100 a
day, so rows added later are newer than every earlier one. A query's data
grows by --grow N rows every --grow-every, or on demand:
  curl -X POST 'http://HOST:PORT/grow?query=growing.example.com&rows=500'
adds 500 rows to that query (without query=, to every query): every
method answers them at once (paged methods' totals, pages and sorts, the
counts of those that are not paged), and
  curl http://HOST:PORT/grow
shows the rows added so far, as JSON.

Example:
  serpstat-export fake-api --addr 127.0.0.1:8080 --rows 25000 &
  SERPSTAT_TOKEN=test-token serpstat-export export --endpoint http://127.0.0.1:8080/v4 \
      --query example.com --rps 20 --out backlinks.csv

Flags:
`

func runFakeAPI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fake-api", flag.ContinueOnError)
	addr, o := fakeAPIFlags(fs)
	grow, growEvery := growFlags(fs)
	var refuse fieldList
	refused := []string{}
	refuse.names = &refused
	fs.Var(refuse, "refuse-query", "answer error 32117 to every request for these `DOMAINS` (comma-separated, repeatable), on every try: a query the API refuses")
	if code, done := parseArgs(fs, args, fakeAPIHelp, stdout, stderr); done {
		return code
	}
	if *addr == "" {
		fmt.Fprintln(stderr, "serpstat-export fake-api: --addr must not be empty")
		return exitUsage
	}
	if *grow < 0 || o.Rows < 0 || o.Wall < 1 || o.RPS < 0 || o.Burst < 0 || o.Latency < 0 || o.Balance < 0 || o.NullEvery < 0 || o.UnknownKeyEvery < 0 {
		fmt.Fprintln(stderr, "serpstat-export fake-api: --grow, --rows, --wall, --rps, --burst, --latency, --balance, --null-every and --unknown-key-every must not be negative (--wall at least 1)")
		return exitUsage
	}
	if err := serpstattest.CheckRateShape(o.RateShape); err != nil {
		fmt.Fprintf(stderr, "serpstat-export fake-api: --rate-shape: %v\n", err)
		return exitUsage
	}
	if o.SameDayShare < 0 || o.SameDayShare > 1 {
		fmt.Fprintln(stderr, "serpstat-export fake-api: --same-day-share must be 0..1, e.g. 0.35")
		return exitUsage
	}
	if err := checkFilterFields(o.IgnoreFilters); err != nil {
		fmt.Fprintf(stderr, "serpstat-export fake-api: --ignore-filter: %v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "serpstat-export fake-api: --addr: %v\n", err)
		return exitUsage
	}
	if *growEvery <= 0 {
		fmt.Fprintln(stderr, "serpstat-export fake-api: --grow-every must be more than 0")
		return exitUsage
	}
	if len(refused) > 0 {
		o.Fault = refuseQueries(refused)
	}
	fake := serpstattest.New(*o) // it serves POST and GET /grow too
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	if *grow > 0 {
		go func() {
			t := time.NewTicker(*growEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					fake.Grow("", *grow)
				}
			}
		}()
	}
	fmt.Fprintf(stdout, "http://%s/v4\n", ln.Addr())
	fmt.Fprintf(stderr, "fake Serpstat API on http://%s/v4: %d rows a query, token %q; POST http://%s/grow?query=Q&rows=N grows a query; Ctrl-C stops it\n", ln.Addr(), o.Rows, o.Token, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "serpstat-export fake-api: %v\n", err)
		return exitFailure
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	st := fake.Stats()
	fmt.Fprintf(stderr, "fake API stopped: %d requests, %d credits billed, %d over-rate answers\n", st.Requests, st.CreditsBilled, st.RateLimited)
	return exitOK
}

// fakeAPIFlags declares the fake-api flags on fs.
func fakeAPIFlags(fs *flag.FlagSet) (*string, *serpstattest.Options) {
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT` (port 0 picks a free one)")
	o := &serpstattest.Options{}
	fs.IntVar(&o.Rows, "rows", 2500, "rows every query matches (its total)")
	fs.StringVar(&o.Token, "token", serpstattest.DefaultToken, "the token the fake accepts")
	fs.Float64Var(&o.RPS, "rps", 0, "requests per second allowed before the over-rate error (0: no limit)")
	fs.IntVar(&o.Burst, "burst", 0, "requests the --rps token bucket lets arrive at once after a quiet spell (0: ceil(--rps); 1: no burst, a request less than 1/--rps after the last accepted one is refused)")
	fs.StringVar(&o.RateShape, "rate-shape", serpstattest.ShapeBucket, "the --rps limiter: bucket (a token bucket of --burst) or window (at most floor(--rps) requests in each second of the clock)")
	fs.DurationVar(&o.Latency, "latency", 0, "added to every answer")
	fs.Int64Var(&o.Balance, "balance", 0, "starting credit balance (0: 1,000,000,000)")
	fs.IntVar(&o.Wall, "wall", serpstat.Wall, "rows served at most per query")
	fs.BoolVar(&o.NoDataAsError, "no-data-error", false, "answer an empty page with error 32015 instead of an empty list")
	fs.BoolVar(&o.EmptyResult404, "empty-result-404", false, `answer an empty page with the documented error 404 "Empty result!" (billed 1)`)
	fs.BoolVar(&o.NumbersAsStrings, "numbers-as-strings", false, `write every number as a string ("links_ext":"92", "total":"62")`)
	fs.BoolVar(&o.TotalNull, "total-null", false, `answer "total": null, as sibling methods do`)
	fs.IntVar(&o.NullEvery, "null-every", 0, "answer null for link_text and domain_rank of every `N`th row (other methods: every number, list, link_text and anchor; 0: never)")
	fs.IntVar(&o.UnknownKeyEvery, "unknown-key-every", 0, "add the undocumented key \""+serpstattest.UnknownKey+"\" to every `N`th row of every method (0: never)")
	fs.Float64Var(&o.SameDayShare, "same-day-share", 0, "share (0..1) of every query's rows first seen on one day, "+serpstattest.OneDayDate)
	fs.Var(fieldList{&o.IgnoreFilters}, "ignore-filter", "check complexFilter conditions on these `FIELDS` (comma-separated, or all), then ignore them")
	fs.BoolVar(&o.WallEmpty, "wall-empty", false, "answer a page starting at or past --wall with an empty list (billed 1, the full total) instead of error 402")
	fs.Int64Var(&o.Faults.Seed, "fault-seed", 1, "seed of the random faults")
	fs.Float64Var(&o.Faults.Status502, "fail-502", 0, "share of requests answered HTTP 502 (0..1)")
	fs.Float64Var(&o.Faults.Reset, "fail-reset", 0, "share of requests whose connection is reset")
	fs.Float64Var(&o.Faults.Truncate, "fail-truncate", 0, "share of answers billed and then cut short")
	fs.Float64Var(&o.Faults.RateLimit, "fail-rate", 0, "share of requests answered with the over-rate error")
	return addr, o
}

// fieldList is --ignore-filter: it appends the comma-separated names of
// each use to a list, trimmed; runFakeAPI refuses an empty one.
type fieldList struct{ names *[]string }

func (l fieldList) String() string {
	if l.names == nil {
		return ""
	}
	return strings.Join(*l.names, ",")
}

func (l fieldList) Set(v string) error {
	for _, name := range strings.Split(v, ",") {
		*l.names = append(*l.names, strings.TrimSpace(name))
	}
	return nil
}

// checkFilterFields refuses an empty name and a name no method's
// complexFilter has ("all" names them all): a typo would ignore nothing.
func checkFilterFields(names []string) error {
	var known []string
	for _, m := range backlinks.Methods {
		for _, ff := range m.Filters {
			if !slices.Contains(known, ff.Name) {
				known = append(known, ff.Name)
			}
		}
	}
	for _, name := range names {
		switch {
		case name == "":
			return errors.New("a field name is empty: want FIELD[,FIELD...] or all, e.g. add,lastupdate")
		case name == "all" || slices.Contains(known, name):
		case suggest(name, known) != "":
			return fmt.Errorf("no method filters on %q (did you mean %s?)", name, suggest(name, known))
		default:
			return fmt.Errorf("no method filters on %q; the fields are %s, or all", name, strings.Join(known, ", "))
		}
	}
	return nil
}

// growFlags declares --grow and --grow-every on fs.
func growFlags(fs *flag.FlagSet) (*int, *time.Duration) {
	grow := fs.Int("grow", 0, "add `N` rows to every query every --grow-every, as backlinks found since (0: only on POST /grow)")
	every := fs.Duration("grow-every", time.Minute, "how often --grow adds its rows")
	return grow, every
}
