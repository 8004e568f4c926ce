package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/serpstat-export/serpstat-export/lake"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// queryInputs gathers the run's queries as given, each with where it was
// given: every --query (or the config's query and queries), then
// --queries-file (one domain a line, # comments and blank lines ignored,
// - for stdin), named FILE:LINE.
func queryInputs(s settings, stdin io.Reader) ([]lake.QueryInput, error) {
	var out []lake.QueryInput
	from := "--query"
	switch {
	case s.given["query"] == "a flag":
	case s.given["query"] == "the environment":
		from = "SERPSTAT_QUERY"
	case s.given["query"] == "the config" || s.given["queries"] == "the config":
		from = "the config's queries"
	}
	for _, q := range s.Queries {
		if q = strings.TrimSpace(q); q != "" {
			out = append(out, lake.QueryInput{Query: q, From: from})
		}
	}
	if s.QueriesFile != "" {
		var r io.Reader = stdin
		name := "stdin"
		if s.QueriesFile != "-" {
			f, err := os.Open(s.QueriesFile)
			if err != nil {
				return nil, usagef("--queries-file: %v", err)
			}
			defer f.Close()
			r, name = f, s.QueriesFile
		}
		sc := bufio.NewScanner(r)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, lake.QueryInput{Query: line, From: fmt.Sprintf("%s:%d", name, n)})
			}
		}
		if err := sc.Err(); err != nil {
			return nil, usagef("--queries-file: %v", err)
		}
	}
	if len(out) == 0 {
		return nil, &serpstat.ParamError{Field: "query", Msg: "is required: the domain to analyse, e.g. --query example.com (or --queries-file FILE)"}
	}
	return out, nil
}

// planQueries reads the run's queries and checks them as a set
// (lake.PlanQueries): normalised, each once, every bad one named by its
// line. The plan is returned with the error, so that the outputs can be
// checked with the good queries and every problem told at once.
func planQueries(s settings, stdin io.Reader) (*lake.QueryPlan, error) {
	in, err := queryInputs(s, stdin)
	if err != nil {
		return nil, err
	}
	m, err := s.method()
	if err != nil {
		return nil, err
	}
	searchType := s.SearchType
	if m.SearchTypes == nil && searchType == defaultSearchType {
		searchType = "" // the method takes none: a domain
	}
	if err := m.ValidateSearchType(searchType); err != nil {
		return nil, err // the queries are checked for a search type the method takes
	}
	return lake.PlanQueries(searchType, in)
}
