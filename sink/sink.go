// Package sink writes the rows of a paged method as CSV, NDJSON or
// Parquet to an io.Writer; where the bytes go (a file, an object) is
// package dest's.
//
// The writers work like encoding/csv.Writer: each writes to an io.Writer it
// is given, buffers, and reports the first error from Write or Close. Close
// flushes the writer's own buffers but never closes the io.Writer. The
// method's descriptor drives every format: its columns are
// Method.OutputColumns, named and ordered so, each written by its Kind
// (see NewCSV, NewNDJSON and NewParquet for the forms).
//
// Where the bytes go is the business of package dest (dest.File, dest.Open):
// it writes to a temporary place and moves it into place on Commit, so a
// reader never sees half a file, whatever the format. sink links no cloud
// SDK.
package sink

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// RowWriter is what every format's writer provides; New returns one.
type RowWriter interface {
	// Write writes rows of the writer's method, each with one Value a
	// column; the writer does not keep rows after it returns.
	Write(rows []serpstat.Row) error
	// Close flushes buffered rows and returns the first error of the
	// writer's life. It does not close the underlying io.Writer.
	Close() error
}

// Format is an output format.
type Format string

// The output formats.
const (
	FormatCSV     Format = "csv"
	FormatNDJSON  Format = "ndjson"
	FormatParquet Format = "parquet"
)

// errClosed is returned by Write after Close.
var errClosed = errors.New("sink: write after close")

// extensions lists the file extensions FormatFor knows, in the order its
// error message names them.
var extensions = []struct {
	ext    string
	format Format
}{
	{".csv", FormatCSV},
	{".ndjson", FormatNDJSON},
	{".jsonl", FormatNDJSON},
	{".parquet", FormatParquet},
}

// FormatFor chooses the format of an output path by its extension, ignoring
// case: .csv, .ndjson or .jsonl, .parquet. The path "-" (standard output)
// is NDJSON.
func FormatFor(path string) (Format, error) {
	if path == "-" {
		return FormatNDJSON, nil
	}
	ext := strings.ToLower(filepath.Ext(path))
	for _, e := range extensions {
		if ext == e.ext {
			return e.format, nil
		}
	}
	names := make([]string, len(extensions))
	for i, e := range extensions {
		names[i] = e.ext
	}
	return "", fmt.Errorf("cannot tell the format of %q from its extension: use %s, or set --format", path, strings.Join(names, ", "))
}

// ParseFormat parses a format's name: "csv", "ndjson" (or its synonym
// "jsonl") or "parquet", ignoring case.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "csv":
		return FormatCSV, nil
	case "ndjson", "jsonl":
		return FormatNDJSON, nil
	case "parquet":
		return FormatParquet, nil
	}
	return "", fmt.Errorf("unknown format %q: use csv, ndjson, jsonl or parquet", s)
}

// New returns a writer of format f writing the rows of method m to w,
// with the format's default settings.
func New(f Format, w io.Writer, m *serpstat.Method) (RowWriter, error) {
	if m == nil {
		return nil, errors.New(errNilMethod)
	}
	switch f {
	case FormatCSV:
		return NewCSV(w, m), nil
	case FormatNDJSON:
		return NewNDJSON(w, m), nil
	case FormatParquet:
		return NewParquet(w, m), nil
	}
	return nil, fmt.Errorf("unknown format %q", string(f))
}
