package main

import (
	"bufio"
	"io"
	"os"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// queryList gathers the run's queries: every --query (or the config's
// query and queries), then --queries-file (one domain a line, # comments
// and blank lines ignored, - for stdin). A domain given twice is exported
// once.
func queryList(s settings, stdin io.Reader) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(q string) {
		q = strings.TrimSpace(q)
		if q != "" && !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	for _, q := range s.Queries {
		add(q)
	}
	if s.QueriesFile != "" {
		var r io.Reader = stdin
		if s.QueriesFile != "-" {
			f, err := os.Open(s.QueriesFile)
			if err != nil {
				return nil, usagef("--queries-file: %v", err)
			}
			defer f.Close()
			r = f
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			add(line)
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
