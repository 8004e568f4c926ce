package sink

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// CSV writes rows as RFC 4180 CSV through encoding/csv: a header row of
// the method's OutputColumns, then one record a row, UTF-8 as given, "\n"
// line ends. Fields holding a quote, a comma, CR or LF are quoted; text is
// written byte for byte, invalid UTF-8 included.
//
// A cell is written by its column's Kind: string, date and timestamp as
// the text answered; integer in digits; float as the shortest decimal
// that reads back the same (as NDJSON writes it); list<string> as a JSON
// array (["windows","linux"]); the extra column as the JSON object of the
// row's unknown keys on one line, an empty cell when it had none. A value
// the API answered null (serpstat.Value.Null) is an empty cell.
//
// Make one with NewCSV; the zero value is not usable. A CSV is not safe
// for concurrent use.
type CSV struct {
	// Neutralize, when true, prefixes with ' every text cell that starts
	// with = + - @ TAB or CR, so that a spreadsheet shows it as text instead
	// of running it as a formula (CSV injection). The zero value, false,
	// writes text exactly. Numeric, list and extra cells are never
	// changed: a number is a number to a spreadsheet, and a list or an
	// object starts with [ or {. Set it before the first Write.
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

	m           *serpstat.Method
	query       string
	dst         io.Writer
	neutralized int64
	w           *csv.Writer
	record      []string
	scratch     []byte // a list, float or extra cell being encoded
	header      bool
	closed      bool
	err         error
}

// NewCSV returns a CSV writing the rows of method m to w. m must not be
// nil.
func NewCSV(w io.Writer, m *serpstat.Method) *CSV {
	if m == nil {
		panic(errNilMethod)
	}
	return &CSV{m: m, dst: w, w: csv.NewWriter(w)}
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
	names := c.m.OutputColumns()
	if c.QueryColumn {
		names = append([]string{"query"}, names...)
	}
	c.record = make([]string, len(names))
	return c.w.Write(names)
}

// Write writes rows, and the header row first if it has not been written.
// Rows are buffered; an error of w may surface on a later Write or on Close.
func (c *CSV) Write(rows []serpstat.Row) error {
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
		rec[0] = c.text(c.query)
		rec = rec[1:]
	}
	cols := c.m.Columns
	for i := range rows {
		r := &rows[i]
		if err := rowFits(c.m, r); err != nil {
			c.err = err
			return err
		}
		for col := range cols {
			v := &r.Values[col]
			if v.Null {
				rec[col] = ""
				continue
			}
			switch cols[col].Kind {
			case serpstat.KindInt:
				rec[col] = strconv.FormatInt(v.Int, 10)
			case serpstat.KindFloat:
				rec[col] = ""
				if finite(v.Float) {
					c.scratch = appendJSONFloat(c.scratch[:0], v.Float)
					rec[col] = string(c.scratch)
				}
			case serpstat.KindStrings:
				c.scratch = appendJSONList(c.scratch[:0], v.List)
				rec[col] = string(c.scratch)
			default: // string, date, timestamp
				rec[col] = c.text(v.Str)
			}
		}
		if c.m.Extra {
			rec[len(cols)] = ""
			if len(r.Extra) != 0 {
				c.scratch = appendExtra(c.scratch[:0], r.Extra)
				rec[len(cols)] = string(c.scratch)
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
