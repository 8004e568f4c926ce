package lake

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// QueryInput is one query as the user gave it, and where: "--query",
// "domains.txt:40" (a line of a queries file).
type QueryInput struct {
	Query string
	From  string
}

// Duplicate is a query dropped because an earlier one is the same query
// once normalised (A.COM and a.com, пример.рф and xn--e1afmkfd.xn--p1ai,
// a domain with a trailing dot): it is exported once, as Of.
type Duplicate struct {
	Query  string `json:"query"`   // as given
	From   string `json:"from"`    // where it was given
	Of     string `json:"of"`      // the normalised query exported
	OfFrom string `json:"of_from"` // where the query kept was given
}

// QueryPlan is a run's queries, checked and normalised as a set before
// anything is sent.
type QueryPlan struct {
	// Queries are the normalised queries, each once, in the order given.
	Queries []string
	// From is where each of Queries was given (its first spelling).
	From []string
	// Duplicates are the queries dropped as the same as an earlier one.
	Duplicates []Duplicate
}

// PlanQueries checks every query of in for searchType and normalises it
// (serpstat.NormalizeQuery: lower case, no trailing dot, IDN in
// punycode; for url and part_url only the host). A query that is the
// same as an earlier one once normalised is dropped and listed in
// Duplicates. Every bad query is named, with where it was given, why and
// what to write instead, in one *UsageError (exit 2), so that a bad line
// 40 of a queries file is found before line 1 is paid for.
func PlanQueries(searchType string, in []QueryInput) (*QueryPlan, error) {
	plan := &QueryPlan{}
	first := map[string]int{}
	var bad []string
	for _, qi := range in {
		q, err := serpstat.NormalizeQuery(searchType, qi.Query)
		if err != nil {
			bad = append(bad, queryProblem(qi, err))
			continue
		}
		if i, ok := first[q]; ok {
			plan.Duplicates = append(plan.Duplicates, Duplicate{Query: qi.Query, From: qi.From, Of: q, OfFrom: plan.From[i]})
			continue
		}
		first[q] = len(plan.Queries)
		plan.Queries = append(plan.Queries, q)
		plan.From = append(plan.From, qi.From)
	}
	if len(bad) > 0 {
		return plan, &UsageError{Msg: problems(fmt.Sprintf("%d of %d queries are not valid", len(bad), len(in)), bad)}
	}
	if len(plan.Queries) == 0 {
		return plan, &serpstat.ParamError{Field: "query", Msg: "is required: the domain to analyse, e.g. --query example.com (or --queries-file FILE)"}
	}
	return plan, nil
}

// queryProblem is one line of the report of bad queries: where, the
// value, why and the fix.
func queryProblem(qi QueryInput, err error) string {
	msg := err.Error()
	var pe *serpstat.ParamError
	if errors.As(err, &pe) {
		msg = pe.Msg
		if qi.From != "" && !strings.HasPrefix(qi.From, "-") {
			// A line of a file: the fix is what to write on it.
			msg = strings.Replace(msg, "(try --query ", "(write ", 1)
		}
	}
	from := qi.From
	if from == "" {
		from = "query"
	}
	return fmt.Sprintf("%s: %s: %s", from, strconv.Quote(strings.TrimSpace(qi.Query)), msg)
}

// problems is a report of several problems found at once: a headline,
// then one problem a line.
func problems(head string, lines []string) string {
	if len(lines) == 1 {
		return lines[0]
	}
	return head + ":\n  " + strings.Join(lines, "\n  ")
}

// JoinUsage joins usage errors found by separate checks (the queries,
// the outputs) into one report, so that the user fixes them all at once;
// nil when every one is nil. An error that is not a usage error is
// returned alone, first.
func JoinUsage(errs ...error) error {
	var found []error
	for _, err := range errs {
		var ue *UsageError
		var pe *serpstat.ParamError
		switch {
		case err == nil:
		case errors.As(err, &ue), errors.As(err, &pe):
			found = append(found, err)
		default:
			return err
		}
	}
	switch len(found) {
	case 0:
		return nil
	case 1:
		return found[0]
	}
	lines := make([]string, len(found))
	for i, err := range found {
		lines[i] = err.Error()
	}
	return &UsageError{Msg: strings.Join(lines, "\n")}
}

// noteDuplicates logs each query dropped as a duplicate.
func noteDuplicates(log *slog.Logger, dups []Duplicate) {
	for _, d := range dups {
		log.Info("query given twice: exported once", "query", d.Query, "from", d.From, "same_as", d.Of, "kept_from", d.OfFrom)
	}
}

// CheckOutputs checks the run's outputs as a set before anything is
// sent: every --out (placeholders, format, destination syntax: all the
// bad ones named), then the outputs rendered for every query of
// s.Queries (use the normalised ones, PlanQueries) for two that would
// write one file or object (--manifest and --incremental included). Its
// error is a *UsageError (exit 2). No I/O.
func CheckOutputs(s Settings) error {
	if len(s.Out) == 0 {
		return nil // Run.Export says it is required
	}
	specs, err := parseOuts(s.Out, s.Format, len(s.Queries) > 1, s.MaxRowsPerFile, s.method())
	if err != nil {
		return err
	}
	extra := map[string]string{}
	if s.Manifest != "" {
		for _, ph := range placeholder.FindAllString(s.Manifest, -1) {
			if ph != "{date}" && ph != "{method}" && ph != "{run}" {
				return usagef("--manifest %s: %s cannot be in it: one manifest covers every query and part of the run; it takes {date}, {method} and {run}", s.Manifest, ph)
			}
		}
		extra["--manifest"] = s.manifestPath(s.date(), s.RunID)
	}
	if s.Incremental != "" {
		extra["--incremental"] = s.Incremental
	}
	return checkCollisions(specs, s.Queries, s.date(), s.RunID, extra)
}

// planQueries normalises the run's queries (PlanQueries; the command
// has done it already, naming each line, so this finds nothing new
// then), adds the duplicates it drops to Settings.Duplicates and logs
// them, and with outs checks the outputs as a set (CheckOutputs): every
// problem in one report, before anything is sent.
func (r *Run) planQueries(outs bool) error {
	in := make([]QueryInput, len(r.Queries))
	for i, q := range r.Queries {
		in[i] = QueryInput{Query: q, From: "query " + strconv.Quote(q)}
	}
	plan, qerr := PlanQueries(r.Pager.Params().SearchType, in)
	if qerr == nil {
		r.Queries = plan.Queries
		r.Duplicates = append(r.Duplicates, plan.Duplicates...)
	}
	noteDuplicates(r.logger(), r.Duplicates)
	var oerr error
	if outs {
		oerr = CheckOutputs(r.Settings)
	}
	return JoinUsage(qerr, oerr)
}
