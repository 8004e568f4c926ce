package sink

import (
	"io"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// DefaultRowGroupRows is the number of rows of a Parquet row group unless
// Parquet.RowGroupRows says otherwise. A row group is held in memory,
// compressed, until it is complete; at this size a writer's heap stays
// near 10 MiB whatever the number of rows (see BenchmarkParquetRowGroup).
const DefaultRowGroupRows = 50_000

// parquetBatch is the number of rows Parquet converts and hands to the
// parquet-go writer at once.
const parquetBatch = 1024

// parquetRow is the Parquet schema of a backlink.
//
// Strings are BYTE_ARRAY with the STRING (UTF8) logical type, which is
// parquet-go's default for a Go string; the two columns with a handful of
// distinct values are dictionary-encoded.
//
// first_seen is an optional DATE: days since 1970-01-01 in an int32
// (parquet-go up to v0.32.0 writes a time.Time tagged date wrongly).
// last_visited is an optional TIMESTAMP(MICROS) with isAdjustedToUTC=false,
// because the API gives a wall-clock time with no zone: the tag argument
// "microsecond:local" sets the unit and clears isAdjustedToUTC. A nil
// pointer is a null, written for a date that is empty or does not parse.
//
// Every column is optional: the API may answer null for any field
// (serpstat.Backlink.Null), written as a Parquet null. The pointers point
// into the rows being written and the writer's own buffers: no allocation
// a row.
type parquetRow struct {
	URLFrom     *string `parquet:"url_from"`
	URLTo       *string `parquet:"url_to"`
	Nofollow    *string `parquet:"nofollow,dict"`
	LinkType    *string `parquet:"link_type,dict"`
	LinksExt    *int64  `parquet:"links_ext"`
	LinkText    *string `parquet:"link_text"`
	FirstSeen   *int32  `parquet:"first_seen,date"`
	LastVisited *int64  `parquet:"last_visited,timestamp(microsecond:local)"`
	DomainRank  *int64  `parquet:"domain_rank"`
}

// parquetRowQ is parquetRow with a leading query column; parquet-go
// flattens the embedded struct, so the columns are query then parquetRow's.
type parquetRowQ struct {
	Query string `parquet:"query,dict"`
	parquetRow
}

// Parquet writes rows as an Apache Parquet file with parquet-go:
// zstd-compressed column chunks, row groups of RowGroupRows rows, the
// schema of parquetRow. Dates that are empty or do not parse are written
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

	query  string
	out    io.Writer
	w      *parquet.GenericWriter[parquetRow]
	wq     *parquet.GenericWriter[parquetRowQ] // when QueryColumn
	rowsq  []parquetRowQ
	rows   []parquetRow // reused for every batch
	days   []int32      // first_seen values the rows point to
	micros []int64      // last_visited values the rows point to
	links  []int64      // links_ext values the rows point to
	ranks  []int64      // domain_rank values the rows point to
	nulls  int
	closed bool
	err    error
}

// NewParquet returns a Parquet writing to w.
func NewParquet(w io.Writer) *Parquet {
	return &Parquet{out: w}
}

// Nulls returns the number of first_seen and last_visited cells written as
// null because they were empty or did not parse.
func (p *Parquet) Nulls() int { return p.nulls }

// SetQuery sets the query column's value for the rows written next.
func (p *Parquet) SetQuery(q string) { p.query = q }

func (p *Parquet) start() {
	if p.w != nil || p.wq != nil {
		return
	}
	n := p.RowGroupRows
	if n <= 0 {
		n = DefaultRowGroupRows
	}
	opts := []parquet.WriterOption{parquet.Compression(&zstdCodec{}), parquet.MaxRowsPerRowGroup(int64(n))}
	if p.QueryColumn {
		p.wq = parquet.NewGenericWriter[parquetRowQ](p.out, opts...)
		p.rowsq = make([]parquetRowQ, parquetBatch)
	} else {
		p.w = parquet.NewGenericWriter[parquetRow](p.out, opts...)
	}
	p.rows = make([]parquetRow, parquetBatch)
	p.days = make([]int32, parquetBatch)
	p.micros = make([]int64, parquetBatch)
	p.links = make([]int64, parquetBatch)
	p.ranks = make([]int64, parquetBatch)
}

// strPtr points to s, or is nil (a Parquet null) when null.
func strPtr(s *string, null bool) *string {
	if null {
		return nil
	}
	return s
}

// Write writes rows. They are buffered until a row group is complete; an
// error of the io.Writer may surface on a later Write or on Close.
func (p *Parquet) Write(rows []serpstat.Backlink) error {
	if p.err != nil {
		return p.err
	}
	if p.closed {
		return errClosed
	}
	p.start()
	for len(rows) > 0 {
		n := min(len(rows), parquetBatch)
		batch := p.rows[:n]
		for i := range batch {
			r := &rows[i]
			pr := &batch[i]
			null := r.Null
			pr.URLFrom = strPtr(&r.URLFrom, null.Has(serpstat.ColURLFrom))
			pr.URLTo = strPtr(&r.URLTo, null.Has(serpstat.ColURLTo))
			pr.Nofollow = strPtr(&r.Nofollow, null.Has(serpstat.ColNofollow))
			pr.LinkType = strPtr(&r.LinkType, null.Has(serpstat.ColLinkType))
			pr.LinkText = strPtr(&r.LinkText, null.Has(serpstat.ColLinkText))
			pr.LinksExt, pr.DomainRank = nil, nil
			if !null.Has(serpstat.ColLinksExt) {
				p.links[i] = int64(r.LinksExt)
				pr.LinksExt = &p.links[i]
			}
			if !null.Has(serpstat.ColDomainRank) {
				p.ranks[i] = int64(r.DomainRank)
				pr.DomainRank = &p.ranks[i]
			}
			pr.FirstSeen = nil
			if d, ok := parseDate(r.FirstSeen); ok {
				p.days[i] = d
				pr.FirstSeen = &p.days[i]
			} else {
				p.nulls++
			}
			pr.LastVisited = nil
			if us, ok := parseDateTime(r.LastVisited); ok {
				p.micros[i] = us
				pr.LastVisited = &p.micros[i]
			} else {
				p.nulls++
			}
		}
		var err error
		if p.wq != nil {
			bq := p.rowsq[:n]
			for i := range batch {
				bq[i] = parquetRowQ{Query: p.query, parquetRow: batch[i]}
			}
			_, err = p.wq.Write(bq)
			clear(bq)
		} else {
			_, err = p.w.Write(batch)
		}
		if err != nil {
			p.err = err
			return err
		}
		rows = rows[n:]
	}
	clear(p.rows) // drop references to the caller's strings
	return nil
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
	if p.wq != nil {
		p.err = p.wq.Close()
	} else {
		p.err = p.w.Close()
	}
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
