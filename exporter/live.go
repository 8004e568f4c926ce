package exporter

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sync"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Live data. The rows of a query can change while it is exported: new
// backlinks are found. In the API's default order they land at the top
// and push every row below them down; in first-seen ascending order (the
// default cmd sends, see settings.params) they land at the end. Either
// way the engine keeps one promise: when Run returns nil, every row that
// existed when page 1 was answered was written exactly once. It proves
// it, part by part (the query, or each slice), from what the answers say:
//
//   - Each answer carries the query's total at the time it was produced.
//     Rows are only added, so a page answered later never reports a lower
//     total, and two pages that report the same total read one version
//     of the list.
//   - Duplicates: a row already written is never written again. The part
//     keeps a 64-bit hash of each row it wrote (8 bytes a row, at most the
//     60,000-row wall per part), not the rows, so memory stays bounded.
//   - A junction between pages n-1 and n can hide a gap only when page n
//     reports a lower total than page n-1 (it was answered before rows
//     were inserted above page n-1's end): then up to the difference of
//     rows sit between them. The writer re-reads one window that spans
//     both edges, the last row written and page n's first row, at the
//     current version, and writes what lies between. Found edges prove
//     the junction; a later total reports of a junction with no gap.
//   - The end: when the last page reports a total above the planned one,
//     rows may have been pushed past the planned end. The writer reads on
//     from the last row written to the current total, in order (one
//     request at a time, so totals only grow), and writes every row after
//     it. With a capped plan (--max-rows, the wall) there is nothing to
//     read on to: the rows pushed out are in doubt.
//
// What cannot be proven (the budget ran out for a re-read, an edge was
// not found, the wall) is counted in Report.InDoubt and Run fails with
// ErrUnproven.

// ErrUnproven is returned when the data changed while exporting and the
// engine could not prove that every row that existed at the start was
// written once; Report.InDoubt says how many rows are in doubt.
var ErrUnproven = errors.New("the data changed while exporting and completeness could not be proven")

// rowSeed hashes rows for the duplicate check; a process's hashes are
// only compared with each other.
var rowSeed = maphash.MakeSeed()

// rowHash hashes every value of r, by kind, its null marks and its
// unknown keys (Extra) included. It writes the values itself:
// maphash.Comparable walks a struct by reflection, a tenth of the
// binary's CPU in an unthrottled export.
func rowHash(r *serpstat.Row) uint64 {
	bp := hashBufs.Get().(*[]byte)
	b := appendRowKey((*bp)[:0], r)
	sum := maphash.Bytes(rowSeed, b)
	*bp = b
	hashBufs.Put(bp)
	return sum
}

// hashBufs are rowHash's buffers: a row's key is built in one and hashed
// at once (a maphash.Hash written value by value spent most of its time
// in the calls).
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendRowKey appends an encoding of r to b from which r can be told
// apart from any other row: each value's null mark, its text with its
// length first (so that no two rows' values run together alike), its
// numbers and its list, then Extra.
func appendRowKey(b []byte, r *serpstat.Row) []byte {
	str := func(b []byte, s string) []byte {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
		return append(b, s...)
	}
	for i := range r.Values {
		v := &r.Values[i]
		if v.Null {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = str(b, v.Str)
		b = binary.LittleEndian.AppendUint64(b, uint64(v.Int))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float))
		b = binary.LittleEndian.AppendUint64(b, uint64(len(v.List)))
		for _, s := range v.List {
			b = str(b, s)
		}
	}
	return str(b, string(r.Extra))
}

// sameRow tells whether a and b hold the same values and unknown keys.
func sameRow(a, b *serpstat.Row) bool {
	if len(a.Values) != len(b.Values) || !bytes.Equal(a.Extra, b.Extra) {
		return false
	}
	for i := range a.Values {
		x, y := &a.Values[i], &b.Values[i]
		if x.Null != y.Null || x.Str != y.Str || x.Int != y.Int || x.Float != y.Float || !slices.Equal(x.List, y.List) {
			return false
		}
	}
	return true
}

// dedupe drops the rows the part already wrote and records the others.
func (p *part) dedupe(rows []serpstat.Row) (kept []serpstat.Row, dups int) {
	if p.seen == nil {
		p.seen = make(map[uint64]struct{}, len(rows))
	}
	kept = rows
	for i := range rows {
		h := rowHash(&rows[i])
		if _, ok := p.seen[h]; ok {
			if dups == 0 {
				kept = append(make([]serpstat.Row, 0, len(rows)), rows[:i]...)
			}
			dups++
			continue
		}
		p.seen[h] = struct{}{}
		if dups > 0 {
			kept = append(kept, rows[i])
		}
	}
	return kept, dups
}

// bridge proves the junction before page pg when pg reports a lower
// total than the page before it: it re-reads a window spanning the last
// row written and pg's first row and returns the rows between them that
// were never written. ok is false when the junction could not be proven.
func (e *Exporter) bridge(ctx context.Context, rep *Report, pg *pager.Page) (rows []serpstat.Row, ok bool) {
	cur := &e.cur
	if len(pg.Rows) == 0 || !cur.hasLast {
		return nil, true
	}
	a, c := cur.last, pg.Rows[0]
	off := (pg.Page - 1) * pg.Size
	now := max(cur.maxTotal, cur.lastTotal)
	for range 3 {
		// a was at off-1 when read and moved down by at most the rows
		// added since; c moved down by at most now-total(pg).
		lo, hi := off-1, off+now-int(pg.Summary.Total)
		size := 0
		for s := hi - lo + 1; s <= serpstat.MaxPageSize; s++ {
			if lo/s == hi/s {
				size = s
				break
			}
		}
		if size == 0 || hi >= cur.plan.Wall {
			return nil, false
		}
		got, err := e.Pager.FetchAt(ctx, cur.plan.Params, pg.N, lo/size+1, size)
		if err != nil {
			e.Logger.Warn("could not re-read rows shifted by new data", "page", pg.N, "error", err)
			return nil, false
		}
		rep.Reread += int64(len(got.Rows))
		i, j := indexRow(got.Rows, &a, 0), -1
		if i >= 0 {
			j = indexRow(got.Rows, &c, i+1)
		}
		if i >= 0 && j >= 0 {
			return got.Rows[i+1 : j], true
		}
		if t := int(got.Summary.Total); t > now {
			now = t // more rows came: look again, wider
			continue
		}
		return nil, false
	}
	return nil, false
}

// tail reads on past the planned end of an uncapped part whose last page
// reported a larger total: rows pushed down by new ones. It writes every
// row after the last one written, in order.
func (e *Exporter) tail(ctx context.Context, rep *Report) error {
	cur := &e.cur
	plan := cur.plan
	if cur.lastTotal <= plan.Total || !cur.hasLast {
		return nil
	}
	if plan.Reachable < plan.Total {
		cur.inDoubt += int64(cur.lastTotal - plan.Total)
		return nil
	}
	z := cur.last
	found := false
	now := cur.lastTotal
	size := plan.Size
	for pos := plan.Reachable - 1; pos < now; {
		if pos >= plan.Wall {
			break
		}
		page := pos/size + 1
		got, err := e.Pager.FetchAt(ctx, plan.Params, plan.Pages+1, page, size)
		if err != nil {
			e.Logger.Warn("could not read on past the planned end", "error", err)
			break
		}
		rep.Reread += int64(len(got.Rows))
		rows := got.Rows
		if !found {
			i := indexRow(rows, &z, 0)
			if i < 0 {
				rows = nil
			} else {
				found, rows = true, rows[i+1:]
			}
		}
		if err := e.emit(rep, rows); err != nil {
			return err
		}
		now = max(now, int(got.Summary.Total))
		pos = page * size
		if len(got.Rows) < size {
			break // the end of the list
		}
	}
	if !found {
		cur.inDoubt += int64(cur.lastTotal - plan.Total)
	}
	return nil
}

// emit writes rows the part has not written yet to every sink.
func (e *Exporter) emit(rep *Report, rows []serpstat.Row) error {
	rows, dups := e.cur.dedupe(rows)
	rep.Duplicates += int64(dups)
	if len(rows) == 0 {
		return nil
	}
	for _, s := range e.Sinks {
		if err := s.Write(rows); err != nil {
			return fmt.Errorf("write re-read rows: %w", err)
		}
	}
	rep.Rows += int64(len(rows))
	rep.UnknownKeys = countUnknown(rep.UnknownKeys, rows)
	e.cur.last, e.cur.hasLast = rows[len(rows)-1], true
	e.live.rows.Store(rep.Rows)
	return nil
}

func indexRow(rows []serpstat.Row, r *serpstat.Row, from int) int {
	for i := from; i < len(rows); i++ {
		if sameRow(&rows[i], r) {
			return i
		}
	}
	return -1
}
