package serpstattest

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Backlink is one row of getNewBacklinks as this fake generates it (Row,
// Rows, Fake.Rows), and as tests read an output back to compare it: a
// typed view of backlinks.NewBacklinks' nine columns, in their order.
// The engine never sees it; it reads serpstat.Row (Backlink.Row).
//
// A field the API answered null is left at its zero value and marked in
// Null, so that every output can write it as a null (an empty CSV cell,
// JSON null, a Parquet null) rather than as "" or 0.
type Backlink struct {
	URLFrom     string       `json:"url_from"`
	URLTo       string       `json:"url_to"`
	Nofollow    string       `json:"nofollow"`
	LinkType    string       `json:"link_type"`
	LinksExt    serpstat.Int `json:"links_ext"`
	LinkText    string       `json:"link_text"`
	FirstSeen   string       `json:"first_seen"`   // YYYY-MM-DD
	LastVisited string       `json:"last_visited"` // YYYY-MM-DD hh:mm:ss, no zone
	DomainRank  serpstat.Int `json:"domain_rank"`
	// Null marks the fields the API answered null; the zero value is none.
	Null NullMask `json:"-"`
}

// NullMask marks null fields of a Backlink: bit i is column i of
// backlinks.NewBacklinks (the Col constants).
type NullMask uint16

// Column indexes of backlinks.NewBacklinks, in a Backlink's field order,
// for NullMask.
const (
	ColURLFrom = iota
	ColURLTo
	ColNofollow
	ColLinkType
	ColLinksExt
	ColLinkText
	ColFirstSeen
	ColLastVisited
	ColDomainRank
)

// Has reports whether column col (a Col constant) is null.
func (m NullMask) Has(col int) bool { return m&(1<<col) != 0 }

// Row is b as the generic row of backlinks.NewBacklinks the decoder
// reads: a Value per column, in order, a null where Null says.
func (b *Backlink) Row() serpstat.Row {
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
	return serpstat.Row{Values: vals}
}

// BacklinkRows are bs as generic rows (Backlink.Row).
func BacklinkRows(bs []Backlink) []serpstat.Row {
	rows := make([]serpstat.Row, len(bs))
	for i := range bs {
		rows[i] = bs[i].Row()
	}
	return rows
}

// nullString is a string field that remembers a JSON null.
type nullString struct {
	s    string
	null bool
}

func (n *nullString) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		n.null = true
		return nil
	}
	return json.Unmarshal(b, &n.s)
}

// nullInt is a serpstat.Int field that remembers a JSON null.
type nullInt struct {
	v    serpstat.Int
	null bool
}

func (n *nullInt) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		n.null = true
		return nil
	}
	return n.v.UnmarshalJSON(b)
}

// UnmarshalJSON implements json.Unmarshaler: every field may be null
// (marked in Null), an integer may be a number or a numeric string, keys
// match case-insensitively as encoding/json matches them. A null row is
// an error: it is no row at all.
func (b *Backlink) UnmarshalJSON(raw []byte) error {
	if string(bytes.TrimSpace(raw)) == "null" {
		return errors.New("row is null")
	}
	var w struct {
		URLFrom     nullString `json:"url_from"`
		URLTo       nullString `json:"url_to"`
		Nofollow    nullString `json:"nofollow"`
		LinkType    nullString `json:"link_type"`
		LinksExt    nullInt    `json:"links_ext"`
		LinkText    nullString `json:"link_text"`
		FirstSeen   nullString `json:"first_seen"`
		LastVisited nullString `json:"last_visited"`
		DomainRank  nullInt    `json:"domain_rank"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return err
	}
	*b = Backlink{
		URLFrom: w.URLFrom.s, URLTo: w.URLTo.s, Nofollow: w.Nofollow.s, LinkType: w.LinkType.s,
		LinksExt: w.LinksExt.v, LinkText: w.LinkText.s, FirstSeen: w.FirstSeen.s,
		LastVisited: w.LastVisited.s, DomainRank: w.DomainRank.v,
	}
	for i, null := range []bool{w.URLFrom.null, w.URLTo.null, w.Nofollow.null, w.LinkType.null,
		w.LinksExt.null, w.LinkText.null, w.FirstSeen.null, w.LastVisited.null, w.DomainRank.null} {
		if null {
			b.Null |= 1 << i
		}
	}
	return nil
}
