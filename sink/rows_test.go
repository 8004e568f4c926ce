package sink

import (
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// nb is backlinks.NewBacklinks, the method of the Backlink fixtures.
var nb = backlinks.NewBacklinks

// backlinkRows converts Backlink fixtures to rows of nb: Values in
// nb.OutputColumns() order, a null where the NullMask says.
func backlinkRows(bs []serpstattest.Backlink) []serpstat.Row { return serpstattest.BacklinkRows(bs) }

// parquetRow is the schema new-backlinks files had when this struct
// described it; the tests read files back with it.
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
