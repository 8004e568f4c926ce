// Command serpstat-export exports every row a Serpstat API query gives,
// at the rate the plan allows, within a credit budget, into CSV, NDJSON
// and Parquet files.
//
//	serpstat-export export --query example.com --out backlinks.parquet
//	serpstat-export fake-api --addr 127.0.0.1:8080 --rows 25000
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/lake"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Exit codes: a contract with users' scripts.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitBudget   = 3
	exitRefused  = 4
	exitCanceled = 130
)

// version, commit and buildDate are set at build time with -ldflags
// "-X main.version=… -X main.commit=… -X main.buildDate=…" (see the
// Makefile); without them, version.go reads what the Go toolchain
// recorded in the binary.
var (
	version   = "dev"
	commit    = ""
	buildDate = ""
)

// defaultMemoryLimit is the Go runtime's soft memory limit unless
// GOMEMLIMIT says otherwise: the live heap of an export is a few pages (at
// most 4,000 rows held for the writer, and as many decoded at once as
// there are CPUs) and a Parquet row group of 16,000 rows (about 10 MiB at
// its peak, BenchmarkParquetRowGroup), so the collector keeps the process under 80 MB (the binary's
// own code and data are about 43 MB of it) instead of letting the heap
// double.
const defaultMemoryLimit = 36 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	// The first Ctrl-C or SIGTERM stops sending: requests in flight finish
	// (they are paid for) and are checkpointed; the export logs it and
	// gives uploads --stop-grace (signals.go). A second one quits at
	// once; the checkpoint is consistent at every moment.
	ignoreSIGPIPE()
	stop := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		stopSignal.Store(<-sigs)
		close(stop)
		<-sigs
		fmt.Fprintln(os.Stderr, "serpstat-export: interrupted: quit at once; the checkpoint is consistent, run the same command again to resume")
		os.Exit(exitCanceled)
	}()
	os.Exit(run(context.Background(), stop, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// stopContext returns ctx canceled when stop is closed, for commands that
// have nothing in flight worth finishing.
func stopContext(ctx context.Context, stop <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

const usage = `serpstat-export exports every new backlink of a domain from the Serpstat API
(or every row of another paged Backlinks method, --method: see 'methods')
into CSV, NDJSON or Parquet, at your plan's rate, within a credit budget.

Usage:
  serpstat-export export --query DOMAIN --out FILE [--out FILE ...] [flags]
  serpstat-export estimate --query DOMAIN | --config FILE [--json] [flags]
  serpstat-export methods [--json]
  serpstat-export fake-api [--addr HOST:PORT] [--rows N] [flags]
  serpstat-export completion bash|zsh
  serpstat-export version [--json]

Examples:
  # dump every new backlink of a domain to Parquet (sliced past the 60k wall)
  SERPSTAT_TOKEN=... serpstat-export export --query example.com --out backlinks.parquet

  # a CSV for a spreadsheet: formula-like cells are neutralised (--csv-raw keeps them)
  serpstat-export export --query competitor.com --out competitor.csv

  # a nightly load from cron: quiet JSON logs, a summary for the scheduler,
  # never below 100,000 credits on the shared account
  serpstat-export export --config nightly.yaml --log-format json \
      --summary-json /var/log/serpstat/summary.json --keep-balance 100000

  # what would it cost? (1 credit)
  serpstat-export estimate --query example.com

  # another paged Backlinks method: referring domains (methods lists them all)
  serpstat-export export --method ref-domains --query example.com --out refdomains.parquet

  # at most 5,000 credits, 10 requests/s (top plans)
  serpstat-export export --query example.com --out links.ndjson --budget 5000 --rps 10

  # a local fake of the API, for trying it without an account
  serpstat-export fake-api --addr 127.0.0.1:8080 --rows 25000

Exit codes: 0 done, 1 failure, 2 bad input, 3 stopped by the budget,
4 refused by the API (token, plan, credits), 75 the coordinator (Redis)
went away: retry later, 130 interrupted, 141 stdout's reader went away
(export --out - | head).
Every flag can also be set in the environment: SERPSTAT_ + the flag name in
upper case, - as _ (SERPSTAT_MAX_ROWS=5000); flags > environment > config
file > defaults.
Run 'serpstat-export help COMMAND' (or COMMAND --help) for a command's flags.
`

func run(ctx context.Context, stop <-chan struct{}, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "export":
		return runExport(ctx, stop, args[1:], stdin, stdout, stderr)
	}
	ctx, cancel := stopContext(ctx, stop)
	defer cancel()
	switch args[0] {
	case "estimate":
		return runEstimateCmd(ctx, args[1:], stdin, stdout, stderr)
	case "fake-api":
		return runFakeAPI(ctx, args[1:], stdout, stderr)
	case "completion":
		return runCompletion(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		return runVersion(args[1:], stdout, stderr)
	case "methods":
		return runMethods(args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		if len(args) > 1 && args[1] != "help" && commandFlags()[args[1]] != nil {
			// help COMMAND is COMMAND --help.
			return run(ctx, stop, []string{args[1], "--help"}, stdin, stdout, stderr)
		}
		if len(args) > 1 {
			fmt.Fprintf(stderr, "serpstat-export help: unknown command %q%s\n", args[1], didYouMeanCommand(args[1]))
			return exitUsage
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "serpstat-export: unknown command %q%s; run 'serpstat-export help' for the commands\n", args[0], didYouMeanCommand(args[0]))
	return exitUsage
}

// commands are the subcommands, for suggestions.
var commands = []string{"export", "estimate", "methods", "fake-api", "completion", "version", "help"}

func didYouMeanCommand(name string) string {
	if strings.HasPrefix(name, "-") {
		return " (commands come first: serpstat-export export " + name + " ...)"
	}
	if sug := suggest(name, commands); sug != "" {
		return " (did you mean " + sug + "?)"
	}
	return ""
}

// exitCode maps an error to the exit code; it is decided here only.
func exitCode(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var pe *serpstat.ParamError
	var qf *lake.QueriesFailed
	switch {
	case brokenPipe(err):
		return exitBrokenPipe // stdout's reader went away
	case errors.Is(err, coord.ErrUnavailable):
		return exitTempFail // before the others: a scheduler should retry
	case errors.As(err, &qf):
		return exitFailure // the other queries were exported
	case errors.As(err, &ue), errors.As(err, &pe):
		return exitUsage
	case errors.Is(err, pager.ErrBudgetExhausted):
		return exitBudget
	case errors.Is(err, pager.ErrInterrupted), ctx.Err() != nil && errors.Is(err, context.Canceled):
		return exitCanceled
	}
	switch serpstat.Classify(err) {
	case serpstat.ClassAuth, serpstat.ClassCredits:
		return exitRefused
	case serpstat.ClassInvalid:
		return exitUsage
	}
	return exitFailure
}
