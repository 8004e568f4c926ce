package sink

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Sink is the interface package exporter declares and writes to, copied
// here because sink may not import exporter.
type Sink interface {
	Write(rows []serpstat.Row) error
	Close() error
}

var (
	_ Sink = (*CSV)(nil)
	_ Sink = (*NDJSON)(nil)
	_ Sink = (*Parquet)(nil)
	_ Sink = RowWriter(nil)
)

// awkwardRows are rows with every kind of text a writer can get wrong. All
// their dates are valid or empty, so every format can give them back.
var awkwardRows = []serpstattest.Backlink{
	{
		URLFrom: "https://example.com/a?b=1&c=2", URLTo: "https://target.test/",
		Nofollow: "follow", LinkType: "href", LinksExt: 12, LinkText: "plain anchor",
		FirstSeen: "2024-03-01", LastVisited: "2024-03-05 12:34:56", DomainRank: 37,
	},
	{
		URLFrom: `https://example.com/"quoted",comma`, URLTo: "https://target.test/x,y",
		Nofollow: "nofollow", LinkType: "href", LinksExt: 0, LinkText: `say "hi", then leave`,
		FirstSeen: "1970-01-01", LastVisited: "1970-01-01 00:00:00", DomainRank: 0,
	},
	{
		URLFrom: "https://example.com/nl", URLTo: "https://target.test/crlf",
		Nofollow: "follow", LinkType: "img", LinksExt: 1, LinkText: "line one\nline two\r\nline three\rend",
		FirstSeen: "1969-12-31", LastVisited: "1969-12-31 23:59:59", DomainRank: 1,
	},
	{
		URLFrom: "https://example.com/tab", URLTo: "https://target.test/",
		Nofollow: "follow", LinkType: "href", LinksExt: 3, LinkText: "\ttabbed\tanchor\t",
		FirstSeen: "2024-02-29", LastVisited: "2024-02-29 23:59:59", DomainRank: 100,
	},
	{
		URLFrom: "https://exämple.com/café", URLTo: "https://target.test/日本語",
		Nofollow: "follow", LinkType: "href", LinksExt: 9223372036854775807, LinkText: "é 日本語 🚀 مرحبا بالعالم",
		FirstSeen: "2000-01-01", LastVisited: "2038-01-19 03:14:08", DomainRank: 55,
	},
	{
		URLFrom: "=HYPERLINK(\"http://evil.test\")", URLTo: "+1+2",
		Nofollow: "-follow", LinkType: "@SUM(A1)", LinksExt: -5, LinkText: "=cmd|' /C calc'!A0",
		FirstSeen: "2023-12-31", LastVisited: "2023-12-31 00:00:01", DomainRank: -1,
	},
	{
		URLFrom: "", URLTo: "", Nofollow: "", LinkType: "", LinksExt: 0, LinkText: "",
		FirstSeen: "", LastVisited: "", DomainRank: 0,
	},
	{
		URLFrom: `https://example.com/back\slash\\`, URLTo: `C:\path\to`,
		Nofollow: "follow", LinkType: "href", LinksExt: 2, LinkText: `\"escaped?\" \n not a newline`,
		FirstSeen: "2099-12-31", LastVisited: "2099-12-31 12:00:00", DomainRank: 99,
	},
	{
		URLFrom: "https://example.com/bad-\xff\xfe-utf8", URLTo: "https://target.test/\xc3(",
		Nofollow: "follow", LinkType: "href", LinksExt: 4, LinkText: "cut rune \xe6\x97 and \x00 nul and \x1f unit sep",
		FirstSeen: "2010-06-15", LastVisited: "2010-06-15 06:07:08", DomainRank: 12,
	},
	{
		URLFrom: "https://example.com/ls", URLTo: "https://target.test/ps",
		Nofollow: "follow", LinkType: "href", LinksExt: 5, LinkText: "line\u2028separator and paragraph\u2029separator <b>&amp;</b>",
		FirstSeen: "2015-07-04", LastVisited: "2015-07-04 17:00:00", DomainRank: 64,
	},
	{
		URLFrom: " leading space", URLTo: "trailing space ",
		Nofollow: "follow", LinkType: "href", LinksExt: 6, LinkText: "\rcarriage first",
		FirstSeen: "2021-01-01", LastVisited: "", DomainRank: 7,
	},
}

// sinkFormat is one output format as the shared suite sees it.
type sinkFormat struct {
	name string
	new  func(io.Writer) RowWriter
	// read decodes the output back into rows.
	read func(t *testing.T, b []byte) []serpstattest.Backlink
	// want is what read gives back for a row written: the format, or the
	// standard reader the test uses, may change text in documented ways.
	want func(serpstattest.Backlink) serpstattest.Backlink
}

var formats = []sinkFormat{
	{
		name: "csv",
		new:  func(w io.Writer) RowWriter { return NewCSV(w, nb) },
		read: readCSV,
		// encoding/csv's Reader turns "\r\n" inside a quoted field into
		// "\n" (the writer wrote "\r\n": see the golden file).
		want: func(r serpstattest.Backlink) serpstattest.Backlink {
			return mapText(r, func(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte("\r\n"), []byte("\n"))) })
		},
	},
	{
		name: "ndjson",
		new:  func(w io.Writer) RowWriter { return NewNDJSON(w, nb) },
		read: readNDJSON,
		// JSON strings are Unicode: like encoding/json, every byte of
		// invalid UTF-8 becomes U+FFFD.
		want: func(r serpstattest.Backlink) serpstattest.Backlink { return mapText(r, validUTF8) },
	},
	{
		name: "parquet",
		new:  func(w io.Writer) RowWriter { return NewParquet(w, nb) },
		read: readParquet,
		want: func(r serpstattest.Backlink) serpstattest.Backlink { return r },
	},
}

func mapText(r serpstattest.Backlink, f func(string) string) serpstattest.Backlink {
	r.URLFrom, r.URLTo, r.Nofollow, r.LinkType = f(r.URLFrom), f(r.URLTo), f(r.Nofollow), f(r.LinkType)
	r.LinkText, r.FirstSeen, r.LastVisited = f(r.LinkText), f(r.FirstSeen), f(r.LastVisited)
	return r
}

// validUTF8 replaces each byte of invalid UTF-8 with U+FFFD, as
// encoding/json does (strings.ToValidUTF8 would replace runs).
func validUTF8(s string) string {
	var b []byte
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, r)
		i += size
	}
	return string(b)
}

func readCSV(t *testing.T, b []byte) []serpstattest.Backlink {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	require.Equal(t, nb.OutputColumns(), recs[0])
	rows := []serpstattest.Backlink{}
	for _, rec := range recs[1:] {
		rows = append(rows, serpstattest.Backlink{
			URLFrom: rec[0], URLTo: rec[1], Nofollow: rec[2], LinkType: rec[3],
			LinksExt: atoi(t, rec[4]), LinkText: rec[5], FirstSeen: rec[6],
			LastVisited: rec[7], DomainRank: atoi(t, rec[8]),
		})
	}
	return rows
}

func atoi(t *testing.T, s string) serpstat.Int {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return serpstat.Int(n)
}

func readNDJSON(t *testing.T, b []byte) []serpstattest.Backlink {
	t.Helper()
	rows := []serpstattest.Backlink{}
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		require.Equal(t, byte('\n'), line[len(line)-1], "line %q is not terminated", line)
		var r serpstattest.Backlink
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&r))
		rows = append(rows, r)
	}
	return rows
}

func readParquet(t *testing.T, b []byte) []serpstattest.Backlink {
	t.Helper()
	r := parquet.NewGenericReader[parquetRow](bytes.NewReader(b))
	defer r.Close()
	buf := make([]parquetRow, 100)
	rows := []serpstattest.Backlink{}
	for {
		n, err := r.Read(buf)
		for _, p := range buf[:n] {
			var row serpstattest.Backlink
			str := func(col int, dst *string, v *string) {
				if v == nil {
					row.Null |= 1 << col
				} else {
					*dst = *v
				}
			}
			num := func(col int, dst *serpstat.Int, v *int64) {
				if v == nil {
					row.Null |= 1 << col
				} else {
					*dst = serpstat.Int(*v)
				}
			}
			str(serpstattest.ColURLFrom, &row.URLFrom, p.URLFrom)
			str(serpstattest.ColURLTo, &row.URLTo, p.URLTo)
			str(serpstattest.ColNofollow, &row.Nofollow, p.Nofollow)
			str(serpstattest.ColLinkType, &row.LinkType, p.LinkType)
			num(serpstattest.ColLinksExt, &row.LinksExt, p.LinksExt)
			str(serpstattest.ColLinkText, &row.LinkText, p.LinkText)
			num(serpstattest.ColDomainRank, &row.DomainRank, p.DomainRank)
			if p.FirstSeen != nil {
				row.FirstSeen = time.Unix(int64(*p.FirstSeen)*86400, 0).UTC().Format(time.DateOnly)
			}
			if p.LastVisited != nil {
				row.LastVisited = time.UnixMicro(*p.LastVisited).UTC().Format(time.DateTime)
			}
			rows = append(rows, row)
		}
		if errors.Is(err, io.EOF) {
			return rows
		}
		require.NoError(t, err)
	}
}

// TestRoundTrip is the suite shared by every format: rows written come back
// equal from a standard reader of the format.
func TestRoundTrip(t *testing.T) {
	many := make([]serpstattest.Backlink, 0, 5000)
	for i := range cap(many) {
		r := awkwardRows[i%len(awkwardRows)]
		r.LinksExt = serpstat.Int(i)
		many = append(many, r)
	}
	huge := awkwardRows[4]
	huge.LinkText = strings.Repeat("日本語 \"quoted\", \n", 20_000) // 360 KB
	cases := []struct {
		name    string
		batches [][]serpstattest.Backlink
	}{
		{"no rows", nil},
		{"one empty batch", [][]serpstattest.Backlink{{}}},
		{"awkward rows", [][]serpstattest.Backlink{awkwardRows}},
		{"one row a batch", func() (b [][]serpstattest.Backlink) {
			for i := range awkwardRows {
				b = append(b, awkwardRows[i:i+1])
			}
			return b
		}()},
		{"5000 rows in uneven batches", [][]serpstattest.Backlink{many[:1], many[1:1500], many[1500:1500], many[1500:]}},
		{"rows larger than any buffer", [][]serpstattest.Backlink{{huge, awkwardRows[0], huge}}},
	}
	for _, f := range formats {
		for _, c := range cases {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				var buf bytes.Buffer
				w := f.new(&buf)
				var want []serpstattest.Backlink
				for _, b := range c.batches {
					require.NoError(t, w.Write(backlinkRows(b)))
					for _, r := range b {
						want = append(want, f.want(r))
					}
				}
				require.NoError(t, w.Close())
				require.NoError(t, w.Close(), "a second Close")
				require.ErrorIs(t, w.Write(backlinkRows(awkwardRows[:1])), errClosed)
				if want == nil {
					want = []serpstattest.Backlink{}
				}
				require.Equal(t, want, f.read(t, buf.Bytes()))
			})
		}
	}
}

// failingWriter fails every write after the first ok bytes.
type failingWriter struct {
	ok  int
	err error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= w.ok {
		w.ok -= len(p)
		return len(p), nil
	}
	n := w.ok
	w.ok = 0
	return n, w.err
}

func TestWriterError(t *testing.T) {
	errDisk := errors.New("disk full")
	for _, f := range formats {
		for _, ok := range []int{0, 10, 100_000} {
			t.Run(f.name+"/after "+strconv.Itoa(ok)+" bytes", func(t *testing.T) {
				w := f.new(&failingWriter{ok: ok, err: errDisk})
				var err error
				rows := backlinkRows(realisticRows(1000))
				for range 200 {
					if err = w.Write(rows); err != nil {
						break
					}
				}
				if err == nil {
					err = w.Close()
				}
				require.ErrorIs(t, err, errDisk)
				// The error sticks.
				require.ErrorIs(t, w.Write(backlinkRows(awkwardRows)), errDisk)
				require.ErrorIs(t, w.Close(), errDisk)
			})
		}
	}
}

func TestCloseOnFailingWriter(t *testing.T) {
	errDisk := errors.New("disk full")
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			w := f.new(&failingWriter{err: errDisk})
			require.NoError(t, w.Write(backlinkRows(awkwardRows[:2])), "rows are buffered")
			require.ErrorIs(t, w.Close(), errDisk)
		})
	}
}

// closeRecorder records whether Close was called on it.
type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestCloseLeavesWriterOpen(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			var out closeRecorder
			w := f.new(&out)
			require.NoError(t, w.Write(backlinkRows(awkwardRows)))
			require.NoError(t, w.Close())
			require.False(t, out.closed)
			require.NotZero(t, out.Len())
		})
	}
}

func TestNew(t *testing.T) {
	for _, c := range []struct {
		format Format
		want   any
	}{
		{FormatCSV, &CSV{}},
		{FormatNDJSON, &NDJSON{}},
		{FormatParquet, &Parquet{}},
	} {
		t.Run(string(c.format), func(t *testing.T) {
			w, err := New(c.format, io.Discard, nb)
			require.NoError(t, err)
			require.IsType(t, c.want, w)
		})
	}
	_, err := New("xml", io.Discard, nb)
	require.ErrorContains(t, err, `"xml"`)
}

func TestFormatFor(t *testing.T) {
	for _, c := range []struct {
		path string
		want Format
		err  bool
	}{
		{"out.csv", FormatCSV, false},
		{"dir/OUT.CSV", FormatCSV, false},
		{"out.ndjson", FormatNDJSON, false},
		{"out.jsonl", FormatNDJSON, false},
		{"out.JsonL", FormatNDJSON, false},
		{"/tmp/x.y/out.parquet", FormatParquet, false},
		{"out.Parquet", FormatParquet, false},
		{"-", FormatNDJSON, false},
		{"out.json", "", true},
		{"out.csv.gz", "", true},
		{"out", "", true},
		{"csv", "", true},
		{"dir.csv/out", "", true},
		{"", "", true},
	} {
		t.Run(c.path, func(t *testing.T) {
			got, err := FormatFor(c.path)
			if c.err {
				require.Error(t, err)
				for _, s := range []string{".csv", ".ndjson", ".jsonl", ".parquet", "--format"} {
					require.ErrorContains(t, err, s)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Format
		err  bool
	}{
		{"csv", FormatCSV, false},
		{"ndjson", FormatNDJSON, false},
		{"jsonl", FormatNDJSON, false},
		{"parquet", FormatParquet, false},
		{"Parquet", FormatParquet, false},
		{"json", "", true},
		{"", "", true},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseFormat(c.in)
			if c.err {
				require.ErrorContains(t, err, "csv, ndjson, jsonl or parquet")
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), string(got))
}
