package sink

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// writeParquet writes rows with a Parquet and opens the result.
func writeParquet(t *testing.T, rowGroupRows int, rows []serpstattest.Backlink) (*parquet.File, *Parquet) {
	t.Helper()
	var buf bytes.Buffer
	w := NewParquet(&buf, nb)
	w.RowGroupRows = rowGroupRows
	require.NoError(t, w.Write(backlinkRows(rows)))
	require.NoError(t, w.Close())
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	return f, w
}

// TestParquetSchema checks the schema and codecs the footer declares.
func TestParquetSchema(t *testing.T) {
	f, _ := writeParquet(t, 0, awkwardRows)
	md := f.Metadata()
	type column struct {
		name       string
		typ        format.Type
		repetition format.FieldRepetitionType
		logical    string
	}
	want := []column{
		{"url_from", format.ByteArray, format.Optional, "STRING"},
		{"url_to", format.ByteArray, format.Optional, "STRING"},
		{"nofollow", format.ByteArray, format.Optional, "STRING"},
		{"link_type", format.ByteArray, format.Optional, "STRING"},
		{"links_ext", format.Int64, format.Optional, "INT(64,true)"},
		{"link_text", format.ByteArray, format.Optional, "STRING"},
		{"first_seen", format.Int32, format.Optional, "DATE"},
		{"last_visited", format.Int64, format.Optional, "TIMESTAMP(isAdjustedToUTC=false,unit=MICROS)"},
		{"domain_rank", format.Int64, format.Optional, "INT(64,true)"},
	}
	require.Len(t, md.Schema, 1+len(want), "the root and one leaf a column")
	var got []column
	for _, e := range md.Schema[1:] {
		typ, ok := e.Type.Get()
		require.True(t, ok, "%s has a physical type", e.Name)
		rep, ok := e.RepetitionType.Get()
		require.True(t, ok, "%s has a repetition", e.Name)
		got = append(got, column{e.Name, typ, rep, e.LogicalType.String()})
	}
	require.Equal(t, want, got)

	ts, ok := md.Schema[8].LogicalType.Value.(*format.TimestampType)
	require.True(t, ok)
	require.False(t, ts.IsAdjustedToUTC, "the API's times have no zone")
	require.IsType(t, &format.MicroSeconds{}, ts.Unit.Value)

	require.NotEmpty(t, md.RowGroups)
	cols := nb.OutputColumns()
	for _, rg := range md.RowGroups {
		require.Len(t, rg.Columns, len(cols))
		for i, c := range rg.Columns {
			require.Equal(t, []string{cols[i]}, []string(c.MetaData.PathInSchema))
			require.Equal(t, format.Zstd, c.MetaData.Codec, "column %s", cols[i])
		}
	}
}

// TestParquetPhysicalDates reads the stored values of the date columns:
// first_seen is days since 1970-01-01, last_visited microseconds since
// 1970-01-01 00:00:00 of the same wall clock.
func TestParquetPhysicalDates(t *testing.T) {
	rows := []serpstattest.Backlink{
		{FirstSeen: "1970-01-01", LastVisited: "1970-01-01 00:00:00"},
		{FirstSeen: "1969-12-31", LastVisited: "1969-12-31 23:59:59"},
		{FirstSeen: "2000-01-01", LastVisited: "2000-01-01 00:00:01"},
		{FirstSeen: "2024-02-29", LastVisited: "2038-01-19 03:14:08"},
		{FirstSeen: "2024-03-01", LastVisited: ""},
		{FirstSeen: "", LastVisited: "2024-03-01 12:00:00"},
	}
	wantDays := []any{int32(0), int32(-1), int32(10957), int32(19782), int32(19783), nil}
	wantMicros := []any{int64(0), int64(-1_000_000), int64(946684801_000_000), int64(2147483648_000_000), nil, int64(1709294400_000_000)}

	f, w := writeParquet(t, 0, rows)
	require.Equal(t, 2, w.Nulls())
	r := parquet.NewReader(f)
	defer r.Close()
	buf := make([]parquet.Row, len(rows)+1)
	n, err := r.ReadRows(buf)
	if !errors.Is(err, io.EOF) {
		require.NoError(t, err)
	}
	require.Equal(t, len(rows), n)
	value := func(row parquet.Row, column int) any {
		for _, v := range row {
			if v.Column() != column {
				continue
			}
			switch {
			case v.IsNull():
				return nil
			case v.Kind() == parquet.Int32:
				return v.Int32()
			case v.Kind() == parquet.Int64:
				return v.Int64()
			}
			t.Fatalf("column %d: unexpected kind %v", column, v.Kind())
		}
		t.Fatalf("no column %d", column)
		return nil
	}
	for i, row := range buf[:n] {
		require.Equal(t, wantDays[i], value(row, 6), "first_seen %q", rows[i].FirstSeen)
		require.Equal(t, wantMicros[i], value(row, 7), "last_visited %q", rows[i].LastVisited)
	}
}

func TestParquetNulls(t *testing.T) {
	bad := []string{"", "0000-00-00", "2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-1-01",
		"24-01-01", "2024/01/01", "２０２４-01-01", "2024-01-01 ", "2024-01-01x"}
	badTimes := []string{"", "0000-00-00 00:00:00", "2024-01-01", "2024-01-01T00:00:00", "2024-01-01 24:00:00",
		"2024-01-01 12:60:00", "2024-01-01 12:00:60", "2024-01-01 12:00", "2024-01-01 12:00:00.5",
		"2024-01-01 12:00:00Z", "2023-02-29 00:00:00", "2024-01-01 1:00:00", "2024-01-01 -1:00:00"}
	var rows []serpstattest.Backlink
	for _, s := range bad {
		rows = append(rows, serpstattest.Backlink{FirstSeen: s, LastVisited: "2024-01-01 00:00:00"})
	}
	for _, s := range badTimes {
		rows = append(rows, serpstattest.Backlink{FirstSeen: "2024-01-01", LastVisited: s})
	}
	_, w := writeParquet(t, 0, rows)
	require.Equal(t, len(bad)+len(badTimes), w.Nulls())
}

// TestParseDates compares the hand-written date parsers with time.Parse.
func TestParseDates(t *testing.T) {
	for _, s := range []string{"1970-01-01", "0001-01-01", "0000-01-01", "9999-12-31", "2024-02-29", "2023-02-29",
		"1900-02-29", "2000-02-29", "2024-04-31", "2024-00-01", "2024-01-00", "2024-01-32", "abcd-ef-gh", "2024-01-0a"} {
		t.Run(s, func(t *testing.T) {
			tm, err := time.Parse(time.DateOnly, s)
			d, ok := parseDate(s)
			require.Equal(t, err == nil, ok)
			if ok {
				require.Equal(t, tm.Unix()/86400, int64(d))
			}
		})
	}
	for _, s := range []string{"1970-01-01 00:00:00", "2024-02-29 23:59:59", "2024-01-01 23:60:00", "2024-01-01 24:00:00",
		"0001-01-01 00:00:00", "9999-12-31 23:59:59", "2024-01-01 00:00:60"} {
		t.Run(s, func(t *testing.T) {
			tm, err := time.Parse(time.DateTime, s)
			us, ok := parseDateTime(s)
			require.Equal(t, err == nil, ok)
			if ok {
				require.Equal(t, tm.UnixMicro(), us)
			}
		})
	}
}

func FuzzParseDateTime(f *testing.F) {
	f.Add("2024-02-29 23:59:59")
	f.Add("2024-02-30 00:00:00")
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := time.Parse(time.DateTime, s)
		us, ok := parseDateTime(s)
		// time.Parse takes some forms the API never sends, such as a
		// one-digit hour; parseDateTime may refuse those, never the reverse.
		if ok {
			require.NoError(t, err)
			require.Equal(t, tm.UnixMicro(), us)
		}
	})
}

func TestParquetRowGroups(t *testing.T) {
	rows := make([]serpstattest.Backlink, 2500)
	for i := range rows {
		rows[i] = awkwardRows[i%len(awkwardRows)]
	}
	f, _ := writeParquet(t, 1000, rows)
	var sizes []int64
	for _, rg := range f.RowGroups() {
		sizes = append(sizes, rg.NumRows())
	}
	require.Equal(t, []int64{1000, 1000, 500}, sizes)
}

func TestParquetEmpty(t *testing.T) {
	f, w := writeParquet(t, 0, nil)
	require.Zero(t, f.NumRows())
	require.Zero(t, w.Nulls())
	require.Len(t, f.Schema().Fields(), len(nb.OutputColumns()))
}

// TestParquetGolden: a new-backlinks file is byte for byte what the writer
// wrote when a Go struct described its schema (the golden files were
// written by that writer, commit a18fbf1), with and without the query
// column: the same schema, encodings, pages and footer.
func TestParquetGolden(t *testing.T) {
	for _, c := range []struct {
		file  string
		query bool
	}{
		{"awkward.parquet", false},
		{"awkward-query.parquet", true},
	} {
		t.Run(c.file, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewParquet(&buf, nb)
			w.QueryColumn = c.query
			w.RowGroupRows = 100
			w.SetQuery("q.example")
			require.NoError(t, w.Write(backlinkRows(awkwardRows)))
			w.SetQuery("=second")
			require.NoError(t, w.Write(backlinkRows(realisticRows(250))))
			require.NoError(t, w.Close())
			want, err := os.ReadFile(filepath.Join("testdata", c.file))
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, buf.Bytes()), "%s: %d bytes written, %d in the golden file", c.file, buf.Len(), len(want))
		})
	}
}

// TestParquetSchemaKinds checks the schema the footer declares for a
// column of every kind, the LIST's three levels included, and for
// threats: names in column order, every column OPTIONAL.
func TestParquetSchemaKinds(t *testing.T) {
	type element struct {
		name       string
		typ        string // physical type, "group" for a group
		repetition format.FieldRepetitionType
		logical    string
		children   int
	}
	str := func(name string) element {
		return element{name, "BYTE_ARRAY", format.Optional, "STRING", 0}
	}
	list := func(name string) []element {
		return []element{
			{name, "group", format.Optional, "LIST", 1},
			{"list", "group", format.Repeated, "", 1},
			{"element", "BYTE_ARRAY", format.Required, "STRING", 0},
		}
	}
	flat := func(parts ...any) (out []element) {
		for _, p := range parts {
			switch p := p.(type) {
			case element:
				out = append(out, p)
			case []element:
				out = append(out, p...)
			}
		}
		return out
	}
	for _, c := range []struct {
		m    *serpstat.Method
		want []element
	}{
		{everyKind, flat(
			str("text"),
			element{"count", "INT64", format.Optional, "INT(64,true)", 0},
			element{"share", "DOUBLE", format.Optional, "", 0},
			element{"day", "INT32", format.Optional, "DATE", 0},
			element{"at", "INT64", format.Optional, "TIMESTAMP(isAdjustedToUTC=false,unit=MICROS)", 0},
			list("tags"),
			str("extra"),
		)},
		{backlinks.Threats, flat(
			str("domain"), str("domain_link"),
			element{"links_count", "INT64", format.Optional, "INT(64,true)", 0},
			list("platform_type"), list("threat_type"),
			element{"lastupdate", "INT32", format.Optional, "DATE", 0},
			str("extra"),
		)},
	} {
		t.Run(c.m.Name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewParquet(&buf, c.m)
			require.NoError(t, w.Write(syntheticRows(c.m, 50)))
			require.NoError(t, w.Close())
			f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			require.NoError(t, err)
			md := f.Metadata()
			var got []element
			for _, e := range md.Schema[1:] {
				el := element{name: e.Name, typ: "group"}
				if typ, ok := e.Type.Get(); ok {
					el.typ = typ.String()
				}
				el.repetition, _ = e.RepetitionType.Get()
				el.logical = e.LogicalType.String()
				if e.LogicalType.Value == nil {
					el.logical = ""
				}
				n, _ := e.NumChildren.Get()
				el.children = int(n)
				got = append(got, el)
			}
			require.Equal(t, c.want, got)
			root, _ := md.Schema[0].NumChildren.Get()
			require.EqualValues(t, len(c.m.OutputColumns()), root, "one field a column")
			var names []string
			for _, fld := range f.Schema().Fields() {
				names = append(names, fld.Name())
				require.True(t, fld.Optional(), fld.Name())
			}
			require.Equal(t, c.m.OutputColumns(), names)
			for _, rg := range md.RowGroups {
				for _, cc := range rg.Columns {
					require.Equal(t, format.Zstd, cc.MetaData.Codec, "%v", cc.MetaData.PathInSchema)
				}
			}
		})
	}
}
