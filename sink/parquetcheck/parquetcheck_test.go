package parquetcheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
	"github.com/serpstat-export/serpstat-export/sink"
)

// backlinkRows converts Backlink fixtures to rows of new-backlinks.
func backlinkRows(bs []serpstattest.Backlink) []serpstat.Row { return serpstattest.BacklinkRows(bs) }

// testRows returns n rows with awkward text, dates around the epoch and
// a leap day, and some empty dates (written as nulls).
func testRows(n int) []serpstattest.Backlink {
	texts := []string{
		"plain", `quote " and, comma`, "new\nline\r\nand\rcr", "\ttab", "é 日本語 🚀 مرحبا",
		"=1+1", "", `back\slash`, "line\u2028sep", "nul \x00 byte", "bad \xff\xfe utf8",
	}
	days := []string{"1970-01-01", "1969-12-31", "2024-02-29", "2000-01-01", "2099-12-31", ""}
	times := []string{"1970-01-01 00:00:00", "1969-12-31 23:59:59", "2024-02-29 23:59:59", "2038-01-19 03:14:08", "", "2015-07-04 17:00:00"}
	rows := make([]serpstattest.Backlink, n)
	for i := range rows {
		rows[i] = serpstattest.Backlink{
			URLFrom:     fmt.Sprintf("https://site%d.example/%s", i, texts[i%len(texts)]),
			URLTo:       "https://target.test/" + texts[(i+3)%len(texts)],
			Nofollow:    []string{"follow", "nofollow"}[i%2],
			LinkType:    []string{"href", "img", "redirect"}[i%3],
			LinksExt:    serpstat.Int(i * 7),
			LinkText:    texts[(i+5)%len(texts)],
			FirstSeen:   days[i%len(days)],
			LastVisited: times[(i/2)%len(times)],
			DomainRank:  serpstat.Int(i % 101),
		}
	}
	return rows
}

func TestPqarrowReadsSinkParquet(t *testing.T) {
	rows := testRows(12_345)

	// Write through a File, as the exporter does.
	path := filepath.Join(t.TempDir(), "backlinks.parquet")
	f, err := dest.Create(path)
	require.NoError(t, err)
	defer f.Abort()
	w := sink.NewParquet(f, backlinks.NewBacklinks)
	w.RowGroupRows = 5000 // three row groups
	for start := 0; start < len(rows); start += 1000 {
		require.NoError(t, w.Write(backlinkRows(rows[start:min(start+1000, len(rows))])))
	}
	require.NoError(t, w.Close())
	require.NoError(t, f.Commit())

	in, err := os.Open(path)
	require.NoError(t, err)
	defer in.Close()
	// Not a memory.CheckedAllocator: arrow-go v18.8.0's delta bit-packing
	// decoder keeps 64 bytes a column chunk, which is arrow's business.
	mem := memory.DefaultAllocator
	table, err := pqarrow.ReadTable(context.Background(), in, parquet.NewReaderProperties(mem), pqarrow.ArrowReadProperties{}, mem)
	require.NoError(t, err)
	defer table.Release()

	schema := table.Schema()
	want := []struct {
		name string
		typ  arrow.DataType
	}{
		{"url_from", arrow.BinaryTypes.String},
		{"url_to", arrow.BinaryTypes.String},
		{"nofollow", arrow.BinaryTypes.String},
		{"link_type", arrow.BinaryTypes.String},
		{"links_ext", arrow.PrimitiveTypes.Int64},
		{"link_text", arrow.BinaryTypes.String},
		{"first_seen", arrow.FixedWidthTypes.Date32},
		{"last_visited", &arrow.TimestampType{Unit: arrow.Microsecond}}, // no TimeZone
		{"domain_rank", arrow.PrimitiveTypes.Int64},
	}
	require.Equal(t, len(want), schema.NumFields())
	for i, c := range want {
		field := schema.Field(i)
		require.Equal(t, c.name, field.Name)
		require.True(t, arrow.TypeEqual(c.typ, field.Type), "%s: got %s, want %s", c.name, field.Type, c.typ)
	}
	ts := schema.Field(7).Type.(*arrow.TimestampType)
	require.Empty(t, ts.TimeZone, "last_visited is a wall-clock time, not UTC")
	require.Equal(t, arrow.Microsecond, ts.Unit)

	require.EqualValues(t, len(rows), table.NumRows())
	got := make([]serpstattest.Backlink, len(rows))
	for col := range want {
		i := 0
		for _, chunk := range table.Column(col).Data().Chunks() {
			for j := 0; j < chunk.Len(); j, i = j+1, i+1 {
				r := &got[i]
				switch a := chunk.(type) {
				case *array.String:
					s := a.Value(j)
					switch col {
					case 0:
						r.URLFrom = s
					case 1:
						r.URLTo = s
					case 2:
						r.Nofollow = s
					case 3:
						r.LinkType = s
					case 5:
						r.LinkText = s
					}
				case *array.Int64:
					if col == 4 {
						r.LinksExt = serpstat.Int(a.Value(j))
					} else {
						r.DomainRank = serpstat.Int(a.Value(j))
					}
				case *array.Date32:
					if a.IsValid(j) {
						r.FirstSeen = a.Value(j).ToTime().Format(time.DateOnly)
					}
				case *array.Timestamp:
					if a.IsValid(j) {
						r.LastVisited = a.Value(j).ToTime(arrow.Microsecond).Format(time.DateTime)
					}
				default:
					t.Fatalf("column %d: unexpected array %T", col, chunk)
				}
			}
		}
		require.Equal(t, len(rows), i, "column %d", col)
	}
	for i := range rows {
		require.Equal(t, rows[i], got[i], "row %d", i)
	}
	require.Equal(t, rows, got)
	nulls := 0
	for _, r := range rows {
		if r.FirstSeen == "" {
			nulls++
		}
		if r.LastVisited == "" {
			nulls++
		}
	}
	require.NotZero(t, nulls)
	require.Equal(t, nulls, w.Nulls())
}
