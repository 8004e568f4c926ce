package lake

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/sink"
	"github.com/serpstat-export/serpstat-export/suggest"
)

// An --out is a template: {query}, {date} (the run's date, YYYY-MM-DD),
// {method}, {run} (the run's id) and {part} are filled in, each value made
// safe for a path.
var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// DefaultMethod is {method} and the manifest's method when the run names
// none.
const DefaultMethod = "new-backlinks"

// outSpec is one --out as given.
type outSpec struct {
	tmpl     string
	format   sink.Format
	perQuery bool // holds {query}: one output per query
	parts    bool // holds {part}
	run      bool // holds {run}
	stdout   bool
	method   string // {method}
}

// plainFile tells whether the --out is one local file: no template, no
// URL, not stdout.
func (o *outSpec) plainFile() bool {
	return !o.stdout && !dest.IsURL(o.tmpl) && !placeholder.MatchString(o.tmpl)
}

// parseOuts checks every --out: its placeholders, its format, its
// destination's syntax (dest.Check), no clashes. Every bad --out is named
// in one *UsageError, not only the first.
func parseOuts(paths []string, format string, multi bool, maxRowsPerFile int, method string) ([]*outSpec, error) {
	var override sink.Format
	if format != "" {
		f, err := sink.ParseFormat(format)
		if err != nil {
			return nil, usagef("--format: %v", err)
		}
		override = f
	}
	seen := map[string]bool{}
	anyParts := false
	var specs []*outSpec
	var bad []string
	badf := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
outs:
	for _, p := range paths {
		if p == "" {
			badf("--out must not be empty")
			continue
		}
		o := &outSpec{tmpl: p, stdout: p == "-", method: method}
		for _, ph := range placeholder.FindAllString(p, -1) {
			switch ph {
			case "{query}":
				o.perQuery = true
			case "{part}":
				o.parts = true
			case "{run}":
				o.run = true
			case "{date}", "{method}":
			default:
				badf("--out %s: unknown placeholder %s; use {query}, {date}, {method}, {run} or {part}%s", p, ph, suggest.Hint(ph, placeholders))
				continue outs
			}
		}
		anyParts = anyParts || o.parts
		key := p
		if seen[key] {
			badf("--out %s is given twice", p)
			continue
		}
		seen[key] = true
		f, err := sink.FormatFor(placeholder.ReplaceAllString(p, "x"))
		switch {
		case o.stdout && override != "":
			f = override
		case err != nil && override != "":
			f = override
		case err != nil:
			badf("--out %s: %v", p, err)
			continue
		}
		o.format = f
		if o.stdout && o.parts {
			badf("--out - cannot have parts")
			continue
		}
		if !o.stdout {
			// The syntax of what it names: the scheme, the bucket, a file.
			if err := dest.Check(expand(p, "example.com", "2006-01-02", "run", 0, method)); err != nil {
				badf("--out %s: %v", p, err)
				continue
			}
		}
		specs = append(specs, o)
	}
	if maxRowsPerFile > 0 && !anyParts {
		badf("--max-rows-per-file needs {part} in an --out, e.g. --out 'out/part-{part}.parquet'")
	}
	if len(bad) > 0 {
		return nil, usagef("%s", problems(fmt.Sprintf("%d problems with the outputs", len(bad)), bad))
	}
	return specs, nil
}

// placeholders are the placeholders an --out may hold.
var placeholders = []string{"{query}", "{date}", "{method}", "{run}", "{part}"}

// SafeValue makes a placeholder's value safe as one path element: no
// separators, no "..", no control characters, nothing hidden.
func SafeValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '/' || r == '\\' || r == ':' || unicode.IsControl(r) || unicode.IsSpace(r):
			b.WriteByte('_')
		case r == '{' || r == '}' || r == '?' || r == '#' || r == '%' || r == '*':
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	v := b.String()
	for strings.Contains(v, "..") {
		v = strings.ReplaceAll(v, "..", "_")
	}
	v = strings.TrimLeft(v, ".")
	if v == "" {
		v = "_"
	}
	return v
}

// expand fills in a template.
func expand(tmpl, query, date, run string, part int, method string) string {
	return placeholder.ReplaceAllStringFunc(tmpl, func(ph string) string {
		switch ph {
		case "{query}":
			return SafeValue(query)
		case "{date}":
			return SafeValue(date)
		case "{method}":
			return SafeValue(method)
		case "{run}":
			return SafeValue(run)
		case "{part}":
			return fmt.Sprintf("%05d", part)
		}
		return ph
	})
}

// fileRecord is a file written, for the manifest.
type fileRecord struct {
	Path   string      `json:"path"`
	Run    string      `json:"run,omitempty"`   // the run that wrote it
	Query  string      `json:"query,omitempty"` // "" when it holds several
	Part   int         `json:"part"`
	Format sink.Format `json:"format"`
	Rows   int64       `json:"rows"`
	Bytes  int64       `json:"bytes"`
	SHA256 string      `json:"sha256"`
	// CellsGuarded is the CSV cells the formula guard changed (a leading
	// ' added); --csv-raw writes them as sent.
	CellsGuarded int64 `json:"cells_guarded,omitempty"`
}

// output is one --out being written for one query (or for all of them,
// with a leading query column): parts roll over at maxRows rows, each
// committed when full, the last when finished.
type output struct {
	spec    *outSpec
	method  *serpstat.Method // the columns it writes; nil: new-backlinks
	query   string           // "" for a shared output
	date    string
	run     string // the run's id, for {run}
	maxRows int
	csvRaw  bool
	csvBOM  bool
	// skipEmpty: an output that got no row writes no file (an
	// incremental load with no new rows into templated outputs).
	skipEmpty bool
	qcol      bool // a leading query column
	ctx       context.Context
	s3        dest.S3Options
	stdout    io.Writer

	path   string // the current or last file's path
	format sink.Format
	part   int
	rows   int64 // in the current part
	dest   dest.Dest
	w      sink.RowWriter
	files  []*fileRecord
	setQ   string // the query column's value
	sealed bool   // the current part is complete, its writer closed (commitAll)
}

// Write implements exporter.Sink, rolling over to a new part when full.
func (o *output) Write(rows []serpstat.Row) error {
	for len(rows) > 0 {
		if o.w == nil {
			if err := o.open(); err != nil {
				return err
			}
		}
		n := len(rows)
		if o.maxRows > 0 {
			n = min(n, o.maxRows-int(o.rows))
		}
		if err := o.w.Write(rows[:n]); err != nil {
			return err
		}
		o.rows += int64(n)
		rows = rows[n:]
		if o.maxRows > 0 && o.rows >= int64(o.maxRows) {
			if err := o.commitPart(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close implements exporter.Sink; finish and abort do the work.
func (o *output) Close() error { return nil }

// SetQuery sets the query column's value for the rows written next.
func (o *output) SetQuery(q string) {
	o.setQ = q
	if qs, ok := o.w.(interface{ SetQuery(string) }); ok {
		qs.SetQuery(q)
	}
}

func (o *output) open() error {
	o.format = o.spec.format
	var w io.Writer
	if o.spec.stdout {
		o.path = "-"
		w = o.stdout
	} else {
		o.path = expand(o.spec.tmpl, o.query, o.date, o.run, o.part, o.spec.method)
		d, err := dest.Open(o.ctx, o.path, o.s3)
		if err != nil {
			return usagef("--out %s: %v", o.path, err)
		}
		o.dest, w = d, d
	}
	m := o.method
	if m == nil {
		m = backlinks.NewBacklinks
	}
	rw, err := sink.New(o.format, w, m)
	if err != nil {
		return err
	}
	switch x := rw.(type) {
	case *sink.CSV:
		// Anchors are written by strangers: a cell that a spreadsheet
		// would run as a formula gets a leading '.
		x.Neutralize = !o.csvRaw
		x.BOM = o.csvBOM
		x.QueryColumn = o.qcol
	case *sink.NDJSON:
		x.QueryColumn = o.qcol
	case *sink.Parquet:
		x.QueryColumn = o.qcol
	}
	o.w = rw
	o.rows = 0
	if o.qcol {
		o.SetQuery(o.setQ)
	}
	return nil
}

// commitPart flushes and commits the current part.
func (o *output) commitPart() error {
	if err := o.w.Close(); err != nil {
		return fmt.Errorf("--out %s: %w", o.path, err)
	}
	return o.commitClosed()
}

// commitClosed commits the current part, its writer closed.
func (o *output) commitClosed() error {
	rec := &fileRecord{Path: o.path, Run: o.run, Query: o.query, Part: o.part, Format: o.format, Rows: o.rows}
	if c, ok := o.w.(*sink.CSV); ok {
		rec.CellsGuarded = c.Neutralized()
	}
	if o.dest != nil {
		if err := o.dest.Commit(); err != nil {
			return fmt.Errorf("--out %s: %w", o.path, err)
		}
		rec.Bytes, rec.SHA256 = o.dest.Size(), o.dest.SHA256()
	}
	o.files = append(o.files, rec)
	o.w, o.dest = nil, nil
	o.part++
	return nil
}

// abort throws away the part being written; parts already committed stay
// (no manifest or _SUCCESS will name them).
func (o *output) abort() {
	if o.w != nil && !o.sealed {
		_ = o.w.Close()
	}
	o.sealed = false
	if o.dest != nil {
		_ = o.dest.Abort()
	}
	o.w, o.dest = nil, nil
}

// written lists what this output wrote, for the summary.
func (o *output) written() []*fileRecord { return o.files }

// splitURLQuery splits the query string off a URL ("" for a path).
func splitURLQuery(p string) (string, string) {
	if dest.IsURL(p) {
		if i := strings.IndexByte(p, '?'); i >= 0 {
			return p[:i], p[i:]
		}
	}
	return p, ""
}

// parentOf is the directory of a path, or of a URL without its query
// string; a bucket's root is its own parent.
func parentOf(p string) string {
	if !dest.IsURL(p) {
		return filepath.Dir(p)
	}
	root := strings.Index(p, "://") + 3
	if i := strings.LastIndexByte(p, '/'); i >= root {
		return p[:i]
	}
	return p
}

// besideData is where a file named name goes next to the data: in the
// longest directory every file shares, with the first file's URL query
// string (it may carry S3 settings).
func besideData(files []*fileRecord, name string) string {
	var dir, q string
	for i, f := range files {
		base, query := splitURLQuery(f.Path)
		d := parentOf(base)
		if i == 0 {
			dir, q = d, query
			continue
		}
		for dir != "" && d != dir && !strings.HasPrefix(d, dir+"/") {
			up := parentOf(dir)
			if up == dir {
				break
			}
			dir = up
		}
	}
	if dest.IsURL(dir) {
		return dir + "/" + name + q
	}
	return filepath.Join(dir, name)
}
