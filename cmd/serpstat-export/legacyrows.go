package main

import (
	"fmt"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// legacyRows converts generic rows of new-backlinks to the rows the sink
// writers take until they write generic rows (issue 13's sink branch);
// it goes with them.
func legacyRows(rows []serpstat.Row) ([]serpstat.Backlink, error) {
	out := make([]serpstat.Backlink, len(rows))
	for i, r := range rows {
		if len(r.Values) != len(backlinks.NewBacklinks.Columns) {
			return nil, fmt.Errorf("the output writers of this build write new-backlinks rows only (a row of %d columns)", len(r.Values))
		}
		v := r.Values
		b := serpstat.Backlink{
			URLFrom: v[0].Str, URLTo: v[1].Str, Nofollow: v[2].Str, LinkType: v[3].Str,
			LinksExt: serpstat.Int(v[4].Int), LinkText: v[5].Str, FirstSeen: v[6].Str, LastVisited: v[7].Str,
			DomainRank: serpstat.Int(v[8].Int),
		}
		for c := range v {
			if v[c].Null {
				b.Null |= 1 << c
			}
		}
		out[i] = b
	}
	return out, nil
}
