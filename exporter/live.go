package exporter

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
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
//   - Rows only move down: a row's position never falls as rows are
//     added. So pages read one after another (each answered after the
//     one before) can repeat rows but never skip one.
//   - A junction between pages n-1 and n can hide a gap only when page n
//     reports a lower total than page n-1 (it was answered before rows
//     were inserted above page n-1's end): then up to the difference of
//     rows, pushed from above page n's offset to below it, sit between
//     them. The writer reads again from page n's offset, one page after
//     another, until it finds page n's first row, and writes what lies
//     before it: finding that row proves the junction, however many rows
//     the gap holds.
//   - The end: when a page reports a total above the planned one, rows
//     may have been pushed past the planned end. The writer reads on from
//     the planned end, one page after another, until a short page, and
//     writes every row it has not. With a capped plan (--max-rows, the
//     wall) there is nothing to read on to: the rows pushed out are in
//     doubt.
//   - Every re-read is kept in the checkpoint (under the part's re-reads),
//     so a later run of the same export, reading the same stored pages,
//     finds the same re-reads there and does not buy them again: it pays
//     only for what is still unproven.
//
// What cannot be proven (the guard or the budget ran out for a re-read, a
// row was not found, the wall) is counted in Report.InDoubt and Run fails
// with ErrUnproven.

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

// maxBridgeReads bounds the pages one junction reads beyond those its gap
// needs (rows may go on arriving while they are read).
const maxBridgeReads = 3

// bridge proves the junction before page pg when pg reports a lower total
// than the page before it: it reads the part again from pg's offset, page
// after page, until it finds pg's first row, and returns the rows before
// it (some already written: the caller drops those). ok is false when the
// junction could not be proven.
func (r *run) bridge(ctx context.Context, pr *partRun, pg *pager.Page) (rows []serpstat.Row, ok bool) {
	if len(pg.Rows) == 0 || !pr.hasLast {
		return nil, true
	}
	c := pg.Rows[0]
	gap := max(pr.maxTotal, pr.lastTotal) - int(pg.Summary.Total)
	reads := (gap+pg.Size-1)/pg.Size + maxBridgeReads
	r.allowRereads(int64(reads * pg.Size))
	for o := pg.Offset(); reads > 0; o, reads = o+pg.Size, reads-1 {
		if o >= pr.pt.Wall {
			return nil, false
		}
		got, err := r.reread(ctx, pr, pager.StepAt(o, pg.Size), pg.N)
		if err != nil {
			r.log.Warn("could not re-read rows shifted by new data", "page", pg.N, "error", err)
			return nil, false
		}
		if i := indexRow(got.Rows, &c, 0); i >= 0 {
			return append(rows, got.Rows[:i]...), true
		}
		rows = append(rows, got.Rows...)
		if len(got.Rows) < pg.Size {
			return nil, false // the end of the list, and no sign of the row
		}
	}
	return nil, false
}

// tail reads on past the planned end of an uncapped part whose pages
// reported a larger total: rows pushed down by new ones. It writes every
// row it has not, in order, until a short page (the end of the list).
func (r *run) tail(ctx context.Context, pr *partRun) error {
	pt := &pr.pt
	grown := max(pr.maxTotal, pr.lastTotal) - pt.Total()
	if grown <= 0 || !pr.hasLast {
		return nil
	}
	if pt.Reach < pt.Total() {
		pr.inDoubt += int64(grown)
		return nil
	}
	size := pt.Size
	r.allowRereads(int64(grown + 2*size))
	for o := pt.Reach - pt.Reach%size; ; o += size {
		if o >= pt.Wall {
			pr.inDoubt += int64(grown)
			return nil
		}
		got, err := r.reread(ctx, pr, pager.StepAt(o, size), len(pt.Steps)+2)
		if err != nil {
			r.log.Warn("could not read on past the planned end", "error", err)
			pr.inDoubt += int64(grown)
			return nil
		}
		if err := r.emit(pr, got.Rows); err != nil {
			return err
		}
		if len(got.Rows) < size {
			return nil // the end of the list
		}
	}
}

// reread returns a part's step read again (live data): from the part's
// re-reads in the checkpoint, or bought, one at a time, and kept there.
func (r *run) reread(ctx context.Context, pr *partRun, st pager.Step, n int) (*pager.Page, error) {
	key := rereads(pr.pt.Key)
	pg, err := r.load(ctx, key, st)
	if err != nil || pg != nil {
		if pg != nil {
			r.rep.Reread += int64(len(pg.Rows))
		}
		return pg, err
	}
	pg, err = r.get(ctx, pager.Request{N: n, Params: pr.params, Step: st, Cost: int64(st.Size)})
	if err != nil {
		return nil, err
	}
	r.save(ctx, key, pg)
	r.rep.Reread += int64(len(pg.Rows))
	return pg, nil
}

func indexRow(rows []serpstat.Row, r *serpstat.Row, from int) int {
	for i := from; i < len(rows); i++ {
		if sameRow(&rows[i], r) {
			return i
		}
	}
	return -1
}
