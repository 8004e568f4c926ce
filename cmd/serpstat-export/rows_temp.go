package main

import "github.com/serpstat-export/serpstat-export/serpstat"

// TEMP(issue13): removed when the engine emits Rows.

// rowsOf converts getNewBacklinks rows to rows of backlinks.NewBacklinks,
// what the sinks write: Values in serpstat.Columns order, a null where
// the NullMask says.
func rowsOf(bs []serpstat.Backlink) []serpstat.Row {
	rows := make([]serpstat.Row, len(bs))
	vals := make([]serpstat.Value, len(bs)*len(serpstat.Columns))
	for i := range bs {
		b := &bs[i]
		v := vals[i*len(serpstat.Columns) : (i+1)*len(serpstat.Columns) : (i+1)*len(serpstat.Columns)]
		v[serpstat.ColURLFrom].Str = b.URLFrom
		v[serpstat.ColURLTo].Str = b.URLTo
		v[serpstat.ColNofollow].Str = b.Nofollow
		v[serpstat.ColLinkType].Str = b.LinkType
		v[serpstat.ColLinksExt].Int = int64(b.LinksExt)
		v[serpstat.ColLinkText].Str = b.LinkText
		v[serpstat.ColFirstSeen].Str = b.FirstSeen
		v[serpstat.ColLastVisited].Str = b.LastVisited
		v[serpstat.ColDomainRank].Int = int64(b.DomainRank)
		for c := range v {
			if b.Null.Has(c) {
				v[c] = serpstat.Value{Null: true}
			}
		}
		rows[i] = serpstat.Row{Values: v}
	}
	return rows
}
