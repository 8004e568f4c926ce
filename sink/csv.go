package sink

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// CSV writes rows as RFC 4180 CSV through encoding/csv: a header row of
// serpstat.Columns, then one record a row, UTF-8 as given, "\n" line ends.
// Fields holding a quote, a comma, CR or LF are quoted; text is written
// byte for byte, invalid UTF-8 included. A field the API answered null
// (serpstat.Backlink.Null) is an empty cell.
//
// Make one with NewCSV; the zero value is not usable. A CSV is not safe
// for concurrent use.
type CSV struct {
	// Neutralize, when true, prefixes with ' every text cell that starts
	// with = + - @ TAB or CR, so that a spreadsheet shows it as text instead
	// of running it as a formula (CSV injection). The zero value, false,
	// writes text exactly. Numeric cells are never changed. Set it before
	// the first Write.
	Neutralize bool
	// QueryColumn, when true, adds a leading "query" column holding the
	// value given to SetQuery: rows of several queries in one file. Set it
	// before the first Write.
	QueryColumn bool
	// BOM, when true, starts the output with a UTF-8 byte order mark, so
	// that Excel on Windows reads the file as UTF-8 rather than in the
	// system's code page. The zero value writes none. Set it before the
	// first Write.
	BOM bool

	query       string
	dst         io.Writer
	neutralized int64
	w           *csv.Writer
	record      []string
	header      bool
	closed      bool
	err         error
}

// NewCSV returns a CSV writing to w.
func NewCSV(w io.Writer) *CSV {
	return &CSV{dst: w, w: csv.NewWriter(w), record: make([]string, len(serpstat.Columns))}
}

// Neutralized is the number of cells written so far that Neutralize
// changed (a leading ' added).
func (c *CSV) Neutralized() int64 { return c.neutralized }

// utf8BOM is the UTF-8 encoding of U+FEFF.
const utf8BOM = "\xef\xbb\xbf"

// SetQuery sets the query column's value for the rows written next.
func (c *CSV) SetQuery(q string) { c.query = q }

func (c *CSV) writeHeader() error {
	c.header = true
	if c.BOM {
		// Nothing is buffered yet: the mark goes first.
		if _, err := io.WriteString(c.dst, utf8BOM); err != nil {
			return err
		}
	}
	if c.QueryColumn {
		return c.w.Write(append([]string{"query"}, serpstat.Columns...))
	}
	return c.w.Write(serpstat.Columns)
}

// Write writes rows, and the header row first if it has not been written.
// Rows are buffered; an error of w may surface on a later Write or on Close.
func (c *CSV) Write(rows []serpstat.Backlink) error {
	if c.err != nil {
		return c.err
	}
	if c.closed {
		return errClosed
	}
	if !c.header {
		if err := c.writeHeader(); err != nil {
			c.err = err
			return err
		}
	}
	rec := c.record
	if c.QueryColumn {
		if len(rec) == len(serpstat.Columns) {
			c.record = make([]string, len(serpstat.Columns)+1)
		}
		c.record[0] = c.text(c.query)
		rec = c.record[1:]
	}
	for i := range rows {
		r := &rows[i]
		rec[0] = c.text(r.URLFrom)
		rec[1] = c.text(r.URLTo)
		rec[2] = c.text(r.Nofollow)
		rec[3] = c.text(r.LinkType)
		rec[4] = strconv.FormatInt(int64(r.LinksExt), 10)
		rec[5] = c.text(r.LinkText)
		rec[6] = c.text(r.FirstSeen)
		rec[7] = c.text(r.LastVisited)
		rec[8] = strconv.FormatInt(int64(r.DomainRank), 10)
		if r.Null != 0 {
			// A field the API answered null is an empty cell.
			for col := range rec {
				if r.Null.Has(col) {
					rec[col] = ""
				}
			}
		}
		if err := c.w.Write(c.record); err != nil {
			c.err = err
			return err
		}
	}
	return nil
}

// Close writes the header if no row was written, flushes, and returns the
// first error of the writer's life. It does not close the io.Writer. Close
// may be called more than once.
func (c *CSV) Close() error {
	if c.closed || c.err != nil {
		return c.err
	}
	if !c.header {
		if err := c.writeHeader(); err != nil {
			c.err = err
			return err
		}
	}
	c.closed = true
	c.w.Flush()
	c.err = c.w.Error()
	return c.err
}

func (c *CSV) text(s string) string {
	if c.Neutralize && needsNeutralizing(s) {
		c.neutralized++
		return "'" + s
	}
	return s
}

// needsNeutralizing tells whether a spreadsheet could take cell text s for
// a formula.
func needsNeutralizing(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}
