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
func toRows(bs []serpstat.Backlink) []serpstat.Row { return serpstat.BacklinkRows(bs) }

// rowKey is a row as a comparable key, to count rows.
func rowKey(r serpstat.Row) string { return fmt.Sprintf("%+v", r) }
