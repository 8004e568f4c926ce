package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

const fakeAPIHelp = `Usage: serpstat-export fake-api [--addr HOST:PORT] [--rows N] [flags]

Serves a fake of the Serpstat API on HOST:PORT, for demos and tests: a
deterministic data set of N rows per query, billed like the real API, with
its 60,000-row wall and its over-rate error. It is as strict as the spec:
between on dates and undocumented link_type/link_nofollow filter values are
refused with 32117; flags answer the variants the spec documents. The endpoint URL is printed on
stdout once it listens; it runs until interrupted.

Example:
  serpstat-export fake-api --addr 127.0.0.1:8080 --rows 25000 &
  SERPSTAT_TOKEN=test-token serpstat-export export --endpoint http://127.0.0.1:8080/v4 \
      --query example.com --rps 20 --out backlinks.csv

Flags:
`

func runFakeAPI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("fake-api", stderr, fakeAPIHelp)
	addr, o := fakeAPIFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *addr == "" {
		fmt.Fprintln(stderr, "serpstat-export fake-api: --addr must not be empty")
		return exitUsage
	}
	if o.Rows < 0 || o.Wall < 1 || o.RPS < 0 || o.Latency < 0 || o.Balance < 0 || o.NullEvery < 0 {
		fmt.Fprintln(stderr, "serpstat-export fake-api: --rows, --wall, --rps, --latency, --balance and --null-every must not be negative (--wall at least 1)")
		return exitUsage
	}
	if o.SameDayShare < 0 || o.SameDayShare > 1 {
		fmt.Fprintln(stderr, "serpstat-export fake-api: --same-day-share must be 0..1, e.g. 0.35")
		return exitUsage
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "serpstat-export fake-api: --addr: %v\n", err)
		return exitUsage
	}
	fake := serpstattest.New(*o)
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "http://%s/v4\n", ln.Addr())
	fmt.Fprintf(stderr, "fake Serpstat API on http://%s/v4: %d rows a query, token %q; Ctrl-C stops it\n", ln.Addr(), o.Rows, o.Token)
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
	fs.DurationVar(&o.Latency, "latency", 0, "added to every answer")
	fs.Int64Var(&o.Balance, "balance", 0, "starting credit balance (0: 1,000,000,000)")
	fs.IntVar(&o.Wall, "wall", serpstat.Wall, "rows served at most per query")
	fs.BoolVar(&o.NoDataAsError, "no-data-error", false, "answer an empty page with error 32015 instead of an empty list")
	fs.BoolVar(&o.EmptyResult404, "empty-result-404", false, `answer an empty page with the documented error 404 "Empty result!" (billed 1)`)
	fs.BoolVar(&o.NumbersAsStrings, "numbers-as-strings", false, `write every number as a string ("links_ext":"92", "total":"62")`)
	fs.BoolVar(&o.TotalNull, "total-null", false, `answer "total": null, as sibling methods do`)
	fs.IntVar(&o.NullEvery, "null-every", 0, "answer null for link_text and domain_rank of every `N`th row (0: never)")
	fs.Float64Var(&o.SameDayShare, "same-day-share", 0, "share (0..1) of every query's rows first seen on one day, "+serpstattest.OneDayDate)
	fs.Int64Var(&o.Faults.Seed, "fault-seed", 1, "seed of the random faults")
	fs.Float64Var(&o.Faults.Status502, "fail-502", 0, "share of requests answered HTTP 502 (0..1)")
	fs.Float64Var(&o.Faults.Reset, "fail-reset", 0, "share of requests whose connection is reset")
	fs.Float64Var(&o.Faults.Truncate, "fail-truncate", 0, "share of answers billed and then cut short")
	fs.Float64Var(&o.Faults.RateLimit, "fail-rate", 0, "share of requests answered with the over-rate error")
	return addr, o
}
