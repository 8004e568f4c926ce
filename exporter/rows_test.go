package exporter_test

import (
	"fmt"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// fakeRows are the first n rows the fake serves for query, as the
// decoder reads them: generic rows of new-backlinks.
func fakeRows(query string, n int) []serpstat.Row { return toRows(serpstattest.Rows(query, n)) }

// toRows converts the fake's getNewBacklinks rows to generic rows.
func toRows(bs []serpstat.Backlink) []serpstat.Row {
	rows := make([]serpstat.Row, len(bs))
	for i, b := range bs {
		vals := []serpstat.Value{
			{Str: b.URLFrom}, {Str: b.URLTo}, {Str: b.Nofollow}, {Str: b.LinkType},
			{Int: int64(b.LinksExt)}, {Str: b.LinkText}, {Str: b.FirstSeen}, {Str: b.LastVisited},
			{Int: int64(b.DomainRank)},
		}
		for c := range vals {
			if b.Null.Has(c) {
				vals[c] = serpstat.Value{Null: true}
			}
		}
		rows[i] = serpstat.Row{Values: vals}
	}
	return rows
}

// rowKey is a row as a comparable key, to count rows.
func rowKey(r serpstat.Row) string { return fmt.Sprintf("%+v", r) }
