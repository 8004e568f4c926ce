package sink

import (
	"strconv"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// TEMP(issue13): the spool's encoder of serpstat.Backlink, removed with
// serpstat.Backlink when the engine emits serpstat.Row (the spool then
// uses AppendNDJSONRow).

// AppendNDJSON appends r to dst as NDJSON writes a row of getNewBacklinks:
// one JSON object, keys in column order, and a newline. It does not
// allocate when dst has room.
//
// Deprecated: use AppendNDJSONRow.
func AppendNDJSON(dst []byte, r *serpstat.Backlink) []byte { return appendNDJSON(dst, r) }

// appendNDJSON appends r as one JSON object and a newline to dst.
func appendNDJSON(dst []byte, r *serpstat.Backlink) []byte {
	if r.Null != 0 {
		return appendNDJSONNulls(dst, r)
	}
	dst = append(dst, `{"url_from":`...)
	dst = appendJSONString(dst, r.URLFrom)
	dst = append(dst, `,"url_to":`...)
	dst = appendJSONString(dst, r.URLTo)
	dst = append(dst, `,"nofollow":`...)
	dst = appendJSONString(dst, r.Nofollow)
	dst = append(dst, `,"link_type":`...)
	dst = appendJSONString(dst, r.LinkType)
	dst = append(dst, `,"links_ext":`...)
	dst = strconv.AppendInt(dst, int64(r.LinksExt), 10)
	dst = append(dst, `,"link_text":`...)
	dst = appendJSONString(dst, r.LinkText)
	dst = append(dst, `,"first_seen":`...)
	dst = appendJSONString(dst, r.FirstSeen)
	dst = append(dst, `,"last_visited":`...)
	dst = appendJSONString(dst, r.LastVisited)
	dst = append(dst, `,"domain_rank":`...)
	dst = strconv.AppendInt(dst, int64(r.DomainRank), 10)
	return append(dst, "}\n"...)
}

// appendNDJSONNulls is appendNDJSON for a row with null fields, written as
// JSON null (the rare case, kept off the hot path).
func appendNDJSONNulls(dst []byte, r *serpstat.Backlink) []byte {
	texts := [...]string{r.URLFrom, r.URLTo, r.Nofollow, r.LinkType, "", r.LinkText, r.FirstSeen, r.LastVisited, ""}
	for col, name := range serpstat.Columns {
		if col == 0 {
			dst = append(dst, '{')
		} else {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, name)
		dst = append(dst, ':')
		switch {
		case r.Null.Has(col):
			dst = append(dst, "null"...)
		case col == serpstat.ColLinksExt:
			dst = strconv.AppendInt(dst, int64(r.LinksExt), 10)
		case col == serpstat.ColDomainRank:
			dst = strconv.AppendInt(dst, int64(r.DomainRank), 10)
		default:
			dst = appendJSONString(dst, texts[col])
		}
	}
	return append(dst, "}\n"...)
}
