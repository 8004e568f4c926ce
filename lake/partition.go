package lake

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// A partition is loaded by several runs (a scheduled load run again the
// same day, a resume): each run's manifest lists the parts of every
// earlier run still there beside its own, and a {part} template without
// {run} numbers a run's parts after the highest part an earlier run
// committed under the same names, so no run replaces or orphans another
// run's files.

// earlier is what the manifest of earlier runs says of the partition.
type earlier struct {
	target string    // the manifest's path or URL
	m      *manifest // nil: no earlier manifest
}

// manifestPath is --manifest with {date}, {method} and {run} filled in,
// as the outputs' templates are ("" without --manifest). One manifest
// covers every query and part of the run: CheckOutputs refuses {query}
// and {part} in it.
func (s *Settings) manifestPath(date, run string) string {
	if s.Manifest == "" {
		return ""
	}
	return expand(s.Manifest, "", date, run, 0, s.method())
}

// manifestTarget is where the run's manifest goes, when it writes one:
// --manifest, or beside the data. It predicts the data's paths from the
// templates (part 0); "" when the run writes no manifest.
func manifestTarget(s Settings, specs []*outSpec, queries []string, multi bool, date, run string) string {
	if s.Manifest != "" {
		return s.manifestPath(date, run)
	}
	templated := false
	for _, o := range s.Out {
		templated = templated || placeholder.MatchString(o) || dest.IsURL(o)
	}
	if !templated && !multi {
		return ""
	}
	var files []*fileRecord
	for _, sp := range specs {
		if sp.stdout {
			continue
		}
		for _, q := range sp.queriesOf(queries) {
			files = append(files, &fileRecord{Path: expand(sp.tmpl, q, date, run, 0, sp.method)})
		}
	}
	if len(files) == 0 {
		return ""
	}
	return besideData(files, "_manifest.json")
}

// loadEarlier reads the manifest an earlier run left where this run's
// goes. A manifest that cannot be read is refused before anything is
// sent: it is the only list of the earlier runs' files.
func loadEarlier(ctx context.Context, target string, s3 dest.S3Options) (*earlier, error) {
	e := &earlier{target: target}
	if target == "" {
		return e, nil
	}
	data, err := dest.ReadAll(ctx, target, s3)
	if errors.Is(err, fs.ErrNotExist) {
		return e, nil
	}
	if err != nil {
		return nil, usagef("the earlier run's manifest %s: %v", target, err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, usagef("the earlier run's manifest %s is not a manifest (%v): this run would leave its files unlisted; move it away or repair it", target, err)
	}
	for _, f := range m.Files {
		if f.Run == "" {
			f.Run = m.RunID
		}
		if m.Paths == pathsManifest {
			f.Path = fromManifest(target, f.Path)
		}
	}
	for i := range m.Queries {
		if m.Queries[i].Run == "" {
			m.Queries[i].Run = m.RunID
		}
	}
	e.m = &m
	return e, nil
}

// firstPart is the first {part} number of an output: after every part an
// earlier run committed under the same names, so that none is replaced.
// A template with {run} names each run's parts apart: they start at 0.
func (e *earlier) firstPart(sp *outSpec, query, date, run string) int {
	if e == nil || e.m == nil || !sp.parts || sp.run {
		return 0
	}
	next := 0
	for _, f := range e.m.Files {
		if f.Part >= next && f.Query == query && cleanPath(expand(sp.tmpl, query, date, run, f.Part, sp.method)) == cleanPath(f.Path) {
			next = f.Part + 1
		}
	}
	return next
}

// merge adds to m the earlier runs' files that this run did not write
// over, and their queries, so that the manifest lists the partition.
func (e *earlier) merge(m *manifest) {
	if e == nil || e.m == nil {
		return
	}
	written := map[string]bool{}
	for _, f := range m.Files {
		written[cleanPath(f.Path)] = true
	}
	var kept []*fileRecord
	runs := map[string]bool{}
	for _, f := range e.m.Files {
		if !written[cleanPath(f.Path)] {
			kept = append(kept, f)
			runs[f.Run] = true
		}
	}
	m.Files = append(kept, m.Files...)
	var qs []manifestQuery
	for _, q := range e.m.Queries {
		if runs[q.Run] {
			qs = append(qs, q)
		}
	}
	m.Queries = append(qs, m.Queries...)
}

// queriesOf is the queries whose values sp's template takes: each valid
// one of queries for a per-query output ({query}), else one "" for the
// output they share.
func (sp *outSpec) queriesOf(queries []string) []string {
	if !sp.perQuery {
		return []string{""}
	}
	var qs []string
	for _, q := range queries {
		if serpstat.ValidateQuery(q) == nil {
			qs = append(qs, q)
		}
	}
	return qs
}
