package sink

import (
	"io"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// DefaultRowGroupRows is the number of rows of a Parquet row group unless
// Parquet.RowGroupRows says otherwise. A row group is held in memory,
// compressed, until it is complete; at this size the peak live heap
// of writing 500,000 rows is 9.9 MiB (11.0 at 25,000, 12.2 at 50,000; see
// BenchmarkParquetRowGroup), and a sliced export of 600,000 rows to
// Parquet peaked at 74-77 MB in three runs against 77-84 MB at 25,000.
const DefaultRowGroupRows = 16_000

// parquetBatch is the number of rows Parquet converts and hands to the
// parquet-go writer at once.
const parquetBatch = 1024

// Parquet writes rows as an Apache Parquet file with parquet-go:
// zstd-compressed column chunks, row groups of RowGroupRows rows, a schema
// built from the method's columns (see parquetSchema): every column
// OPTIONAL, in the order of OutputColumns, after a REQUIRED query column
// when QueryColumn is set. A value is written by its column's Kind:
//
//   - string: BYTE_ARRAY with the STRING (UTF8) logical type; the columns
//     with a handful of distinct values (nofollow, link_type) are
//     dictionary-encoded.
//   - integer: INT64 (INT(64, signed)); float: DOUBLE, NaN and the
//     infinities as nulls, as in the other formats.
//   - date: DATE, days since 1970-01-01 in an INT32.
//   - timestamp: TIMESTAMP(MICROS) with isAdjustedToUTC=false, because the
//     API gives a wall-clock time with no zone.
//   - list<string>: LIST of required STRING elements (three-level form);
//     DuckDB reads it as VARCHAR[]. A null is a null list, an empty list
//     an empty one.
//   - extra: STRING holding the JSON object of the row's unknown keys,
//     null when it had none.
//
// A value the API answered null (serpstat.Value.Null) is a Parquet null.
// Dates and timestamps that are null, empty or do not parse are written
// as nulls, and counted by Nulls.
//
// Make one with NewParquet; the zero value is not usable. A Parquet is not
// safe for concurrent use.
type Parquet struct {
	// RowGroupRows is the number of rows of a row group; a writer holds up
	// to one row group in memory. Zero means DefaultRowGroupRows. Set it
	// before the first Write.
	RowGroupRows int
	// QueryColumn, when true, adds a leading "query" column holding the
	// value given to SetQuery: rows of several queries in one file. Set it
	// before the first Write.
	QueryColumn bool

	m      *serpstat.Method
	query  string
	out    io.Writer
	w      *parquet.Writer
	values []parquet.Value // the values of a batch, reused
	rows   []parquet.Row   // the batch's rows, slices of values
	nulls  int
	closed bool
	err    error
}

// NewParquet returns a Parquet writing the rows of method m to w. m must
// not be nil.
func NewParquet(w io.Writer, m *serpstat.Method) *Parquet {
	if m == nil {
		panic(errNilMethod)
	}
	return &Parquet{m: m, out: w}
}

// Nulls returns the number of date and timestamp cells written as null:
// answered null, empty, or not a valid date or time.
func (p *Parquet) Nulls() int { return p.nulls }

// SetQuery sets the query column's value for the rows written next.
func (p *Parquet) SetQuery(q string) { p.query = q }

func (p *Parquet) start() {
	if p.w != nil {
		return
	}
	n := p.RowGroupRows
	if n <= 0 {
		n = DefaultRowGroupRows
	}
	p.w = parquet.NewWriter(p.out, parquetSchema(p.m, p.QueryColumn),
		parquet.Compression(&zstdCodec{}), parquet.MaxRowsPerRowGroup(int64(n)))
	p.rows = make([]parquet.Row, parquetBatch)
}

// bytesOf is s as a byte slice without a copy. parquet-go only reads the
// bytes of a value, and copies them into its own buffers before WriteRows
// returns.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// Write writes rows. They are buffered until a row group is complete; an
// error of the io.Writer may surface on a later Write or on Close.
func (p *Parquet) Write(rows []serpstat.Row) error {
	if p.err != nil {
		return p.err
	}
	if p.closed {
		return errClosed
	}
	p.start()
	for len(rows) > 0 {
		n := min(len(rows), parquetBatch)
		if err := p.writeBatch(rows[:n]); err != nil {
			p.err = err
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// writeBatch converts rows to parquet.Row values, column by column with
// their repetition and definition levels, and writes them.
func (p *Parquet) writeBatch(rows []serpstat.Row) error {
	cols := p.m.Columns
	first := 0 // the leaf column of cols[0]
	if p.QueryColumn {
		first = 1
	}
	vals := p.values[:0]
	batch := p.rows[:len(rows)]
	for i := range rows {
		r := &rows[i]
		if err := rowFits(p.m, r); err != nil {
			return err
		}
		start := len(vals)
		if p.QueryColumn {
			// Required: its definition level is 0 when set.
			vals = append(vals, parquet.ByteArrayValue(bytesOf(p.query)).Level(0, 0, 0))
		}
		for c := range cols {
			leaf := first + c
			v := &r.Values[c]
			kind := cols[c].Kind
			if v.Null {
				if kind == serpstat.KindDate || kind == serpstat.KindTimestamp {
					p.nulls++
				}
				vals = append(vals, parquet.NullValue().Level(0, 0, leaf))
				continue
			}
			var pv parquet.Value
			switch kind {
			case serpstat.KindInt:
				pv = parquet.Int64Value(v.Int)
			case serpstat.KindFloat:
				if !finite(v.Float) {
					vals = append(vals, parquet.NullValue().Level(0, 0, leaf))
					continue
				}
				pv = parquet.DoubleValue(v.Float)
			case serpstat.KindDate:
				d, ok := parseDate(v.Str)
				if !ok {
					p.nulls++
					vals = append(vals, parquet.NullValue().Level(0, 0, leaf))
					continue
				}
				pv = parquet.Int32Value(d)
			case serpstat.KindTimestamp:
				us, ok := parseDateTime(v.Str)
				if !ok {
					p.nulls++
					vals = append(vals, parquet.NullValue().Level(0, 0, leaf))
					continue
				}
				pv = parquet.Int64Value(us)
			case serpstat.KindStrings:
				// optional group (LIST) { repeated group list { required
				// binary element } }: definition level 1 is an empty list,
				// 2 an element; repetition level 1 continues the list.
				if len(v.List) == 0 {
					vals = append(vals, parquet.NullValue().Level(0, 1, leaf))
					continue
				}
				for j, s := range v.List {
					vals = append(vals, parquet.ByteArrayValue(bytesOf(s)).Level(min(j, 1), 2, leaf))
				}
				continue
			default: // string
				pv = parquet.ByteArrayValue(bytesOf(v.Str))
			}
			vals = append(vals, pv.Level(0, 1, leaf))
		}
		if p.m.Extra {
			leaf := first + len(cols)
			if len(r.Extra) == 0 {
				vals = append(vals, parquet.NullValue().Level(0, 0, leaf))
			} else {
				extra := []byte(r.Extra)
				if spaced(extra) {
					// Compacted as in the other formats; each row its
					// own copy, since the values are written together.
					extra = appendExtra(nil, r.Extra)
				}
				vals = append(vals, parquet.ByteArrayValue(extra).Level(0, 1, leaf))
			}
		}
		batch[i] = vals[start:len(vals):len(vals)]
	}
	// vals may have grown: point the rows into its final array.
	off := 0
	for i := range batch {
		n := len(batch[i])
		batch[i] = vals[off : off+n : off+n]
		off += n
	}
	_, err := p.w.WriteRows(batch)
	clear(vals) // drop references to the caller's strings
	clear(batch)
	p.values = vals[:0]
	return err
}

// Close writes the last row group and the footer, and returns the first
// error of the writer's life. It does not close the io.Writer. Close may be
// called more than once.
func (p *Parquet) Close() error {
	if p.closed || p.err != nil {
		return p.err
	}
	p.start()
	p.closed = true
	p.err = p.w.Close()
	return p.err
}

// parseDate parses "YYYY-MM-DD" as days since 1970-01-01.
func parseDate(s string) (int32, bool) {
	if len(s) != len("2006-01-02") || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 {
		return 0, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // time.Date normalised a day past the month's end
		return 0, false
	}
	return int32(t.Unix() / 86400), true
}

// parseDateTime parses "YYYY-MM-DD hh:mm:ss" as microseconds since
// 1970-01-01 00:00:00 of the same wall clock (no zone is implied).
func parseDateTime(s string) (int64, bool) {
	if len(s) != len("2006-01-02 15:04:05") || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	days, ok := parseDate(s[:10])
	if !ok {
		return 0, false
	}
	h, ok1 := digits(s[11:13])
	mi, ok2 := digits(s[14:16])
	sec, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	secs := int64(days)*86400 + int64(h)*3600 + int64(mi)*60 + int64(sec)
	return secs * 1_000_000, true
}

// digits parses a string of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int(c)
	}
	return n, true
}
