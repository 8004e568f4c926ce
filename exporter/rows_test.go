package exporter_test

import (
	"strconv"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// fakeRows are the first n rows the fake serves for query, as the
// decoder reads them: generic rows of new-backlinks.
func fakeRows(query string, n int) []serpstat.Row { return toRows(serpstattest.Rows(query, n)) }

// toRows converts the fake's getNewBacklinks rows to generic rows.
func toRows(bs []serpstattest.Backlink) []serpstat.Row { return serpstattest.BacklinkRows(bs) }

// rowKey is a row as a comparable key, to count rows: every value, by
// kind, its null mark and the unknown keys.
func rowKey(r serpstat.Row) string {
	b := make([]byte, 0, 256)
	for _, v := range r.Values {
		if v.Null {
			b = append(b, 'N')
		}
		b = strconv.AppendQuote(b, v.Str)
		b = strconv.AppendInt(append(b, ' '), v.Int, 10)
		b = strconv.AppendFloat(append(b, ' '), v.Float, 'g', -1, 64)
		b = strconv.AppendInt(append(b, ' '), int64(len(v.List)), 10)
		for _, s := range v.List {
			b = strconv.AppendQuote(b, s)
		}
		b = append(b, ';')
	}
	return string(append(b, r.Extra...))
}
