package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Incremental loads: the state keeps, per query, the newest first_seen
// exported and the rows of that day, so that the next run asks only for
// rows first seen on or after it and drops the ones it already has.

const stateVersion = 1

type State struct {
	Version int                    `json:"version"`
	Method  string                 `json:"method"`
	Queries map[string]*QueryState `json:"queries"`
}

type QueryState struct {
	// Newest is the newest first_seen exported, YYYY-MM-DD.
	Newest string `json:"newest_first_seen"`
	// Boundary holds a hash of each row first seen on Newest.
	Boundary []string  `json:"boundary"`
	Rows     int64     `json:"rows_exported"`
	Updated  time.Time `json:"updated"`
}

func LoadState(ctx context.Context, target string, s3 dest.S3Options, m *serpstat.Method) (*State, error) {
	// The state names the API method without its procedure, as before
	// methods were many: "getNewBacklinks".
	method := m.API[strings.LastIndexByte(m.API, '.')+1:]
	st := &State{Version: stateVersion, Method: method, Queries: map[string]*QueryState{}}
	data, err := dest.ReadAll(ctx, target, s3)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--incremental %s: %w", target, err)
	}
	if err := json.Unmarshal(data, st); err != nil || st.Version != stateVersion {
		return nil, usagef("--incremental %s is not an incremental state of this version (%v); move it away to start over", target, err)
	}
	if st.Method != method {
		return nil, usagef("--incremental %s is the state of %s loads, not of %s: give each method its own state", target, st.Method, method)
	}
	if st.Queries == nil {
		st.Queries = map[string]*QueryState{}
	}
	return st, nil
}

func (st *State) save(ctx context.Context, target string, s3 dest.S3Options) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return dest.WriteAll(ctx, target, append(data, '\n'), s3)
}

// Since is the condition that asks only for rows first seen (m's cursor)
// on or after the newest one exported, the date written as the cursor's
// filter field takes it (01.04.2025 for getNewBacklinks' add, 2025-04-01
// for getThreats' lastupdate).
func (q *QueryState) Since(m *serpstat.Method) (serpstat.Condition, error) {
	t, err := serpstat.ParseDate(q.Newest)
	if err != nil {
		return serpstat.Condition{}, fmt.Errorf("incremental state: bad date %q", q.Newest)
	}
	format := serpstat.DateDMY
	if f := m.Filter(m.Cursor.Filter); f != nil {
		format = f.DateFormat
	}
	return serpstat.Condition{Field: m.Cursor.Filter, CompareType: "gte", Value: []any{format.Format(t)}}, nil
}

// AndInto ANDs c into every group of f (an empty filter becomes one group).
func AndInto(f serpstat.Filter, c serpstat.Condition) serpstat.Filter {
	if len(f) == 0 {
		return serpstat.Filter{{c}}
	}
	out := make(serpstat.Filter, len(f))
	for i, g := range f {
		out[i] = append(append(make([]serpstat.Condition, 0, len(g)+1), g...), c)
	}
	return out
}

// rowHash names a row in the incremental state: a hash of the JSON
// object of its columns (a null as its kind's zero value), and of its
// unknown keys when the method writes them. For new-backlinks it is the
// hash earlier versions wrote of the same row, so their states still work.
func rowHash(m *serpstat.Method, r *serpstat.Row) string {
	b := []byte{'{'}
	for i, c := range m.Columns {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(c.Name)
		b = append(append(b, k...), ':')
		var v any
		switch c.Kind {
		case serpstat.KindInt:
			v = r.Values[i].Int
		case serpstat.KindFloat:
			v = r.Values[i].Float
		case serpstat.KindStrings:
			v = r.Values[i].List
		default:
			v = r.Values[i].Str
		}
		js, _ := json.Marshal(v)
		b = append(b, js...)
	}
	if m.Extra && len(r.Extra) > 0 {
		b = append(append(b, `,"extra":`...), r.Extra...)
	}
	b = append(b, '}')
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// tracker sits in front of a query's sinks: it drops the rows of the
// boundary day that an earlier run exported, and follows the newest
// first_seen and the rows of that day for the next state.
type tracker struct {
	m    *serpstat.Method
	col  int // the cursor column (first_seen for new-backlinks)
	next []interface {
		Write([]serpstat.Row) error
	}
	prevNewest string          // the earlier run's newest first_seen
	seen       map[string]bool // the earlier run's rows of that day
	newest     string
	day        map[string]bool // hashes of rows first seen on newest
	rows       int64
	dropped    int64
	// older counts the rows answered older than the cursor: the API did
	// not apply the cursor filter (CursorIgnoredError).
	older int64
	buf   []serpstat.Row
}

// CursorIgnoredError stops an incremental load whose answers hold rows
// older than the cursor it asked from: the API did not apply the cursor
// filter (a value in a format it does not read has that effect), so the
// load would buy the whole history again. None of those rows is written;
// the pages bought stay in the spool.
type CursorIgnoredError struct {
	Method string // the CLI's name: threats
	Filter string // the cursor's filter field: lastupdate
	Since  string // the cursor: the earlier run's newest day, YYYY-MM-DD
	Older  int64  // rows older than Since in the answers read
}

func (e *CursorIgnoredError) Error() string {
	return fmt.Sprintf("--incremental: the API did not apply the cursor filter of %s (%s from %s): its answer held %d rows older than the cursor, which were not written again; stopped before buying more pages of a history already exported (run without --incremental to export the whole history)",
		e.Method, e.Filter, e.Since, e.Older)
}

func newTracker(prev *QueryState, m *serpstat.Method) *tracker {
	t := &tracker{m: m, col: m.ColumnIndex(m.Cursor.Column), seen: map[string]bool{}, day: map[string]bool{}}
	if prev != nil {
		t.prevNewest, t.newest = prev.Newest, prev.Newest
		for _, h := range prev.Boundary {
			t.seen[h] = true
			t.day[h] = true
		}
	}
	return t
}

func (t *tracker) Write(rows []serpstat.Row) error {
	t.buf = t.buf[:0]
	// A row older than the cursor means the API ignored the cursor's
	// filter: nothing of the batch is written and the load stops.
	if t.prevNewest != "" {
		older := int64(0)
		for i := range rows {
			if v := rows[i].Values[t.col]; !v.Null && v.Str != "" && v.Str < t.prevNewest {
				older++
			}
		}
		if older > 0 {
			t.older += older
			return &CursorIgnoredError{Method: t.m.Name, Filter: t.m.Cursor.Filter, Since: t.prevNewest, Older: t.older}
		}
	}
	for i := range rows {
		r := &rows[i]
		// A row is hashed only on the earlier run's boundary day (to drop
		// it if that run had it) and on the newest day seen (for the
		// next run).
		h := ""
		if t.prevNewest != "" && r.Values[t.col].Str == t.prevNewest {
			if h = rowHash(t.m, r); t.seen[h] {
				t.dropped++ // exported by the earlier run
				continue
			}
		}
		if r.Values[t.col].Str > t.newest {
			t.newest = r.Values[t.col].Str
			clear(t.day)
		}
		if r.Values[t.col].Str == t.newest {
			if h == "" {
				h = rowHash(t.m, r)
			}
			t.day[h] = true
		}
		t.buf = append(t.buf, *r)
	}
	t.rows += int64(len(t.buf))
	for _, s := range t.next {
		if err := s.Write(t.buf); err != nil {
			return err
		}
	}
	return nil
}

func (t *tracker) Close() error { return nil }

// state is the query's state after this run.
func (t *tracker) state(prev *QueryState, now time.Time) *QueryState {
	q := &QueryState{Newest: t.newest, Rows: t.rows, Updated: now.UTC()}
	if prev != nil {
		q.Rows += prev.Rows
	}
	for h := range t.day {
		q.Boundary = append(q.Boundary, h)
	}
	return q
}

// manifest is _manifest.json: what a loader needs to load the run.
type manifest struct {
	RunID   string    `json:"run_id"`
	Created time.Time `json:"created"`
	Date    string    `json:"date"`
	Method  string    `json:"method"`
	// Paths says how the files' paths are written: "manifest", relative
	// to the manifest's own directory (a URL in full); older manifests
	// have none: as the command was given them.
	Paths   string          `json:"paths,omitempty"`
	Files   []*fileRecord   `json:"files"`
	Queries []manifestQuery `json:"queries"`
	Schema  []schemaColumn  `json:"schema"`
	// CreditsBilled is what the run's queries cost in every attempt of
	// the run (a query reused from an earlier attempt counts what that
	// attempt paid); CreditsThisAttempt what this attempt paid.
	CreditsBilled      int64 `json:"credits_billed"`
	CreditsThisAttempt int64 `json:"credits_billed_this_attempt"`
	Complete           bool  `json:"complete"` // every query was exported
}

type manifestQuery struct {
	Query         string          `json:"query"`
	Method        string          `json:"method,omitempty"` // the method that exported it
	Run           string          `json:"run,omitempty"`    // the run that exported it
	Status        string          `json:"status"`           // done, failed, stopped, interrupted
	Error         string          `json:"error,omitempty"`
	Rows          int64           `json:"rows"`
	CreditsBilled int64           `json:"credits_billed"`   // in every attempt of the run
	Reused        bool            `json:"reused,omitempty"` // done by an earlier attempt, not bought again
	Params        serpstat.Params `json:"params"`
	// Intersect says which domain each links_count_N column counts
	// (getIntersect): {"links_count_1": "a.com", ...}.
	Intersect map[string]string `json:"intersect,omitempty"`
	// NoNewRows: an incremental load found nothing newer than the last
	// run (it paid for the boundary day's check only) and wrote no file.
	NoNewRows bool `json:"no_new_rows,omitempty"`
}

type schemaColumn struct {
	Name    string `json:"name"`
	Type    string `json:"type"` // as Parquet writes it
	Logical string `json:"logical,omitempty"`
	Kind    string `json:"kind,omitempty"` // the method's kind: string, integer, float, date, timestamp, list<string>, json
}

// schemaOf is the columns every format writes for m (its output columns,
// the extra column included), with the Parquet types and the method's
// kinds.
func schemaOf(m *serpstat.Method, queryColumn bool) []schemaColumn {
	var cols []schemaColumn
	if queryColumn {
		cols = append(cols, schemaColumn{"query", "BYTE_ARRAY", "STRING", serpstat.KindString.String()})
	}
	for _, c := range m.Columns {
		sc := schemaColumn{Name: c.Name, Kind: c.Kind.String()}
		switch c.Kind {
		case serpstat.KindInt:
			sc.Type = "INT64"
		case serpstat.KindFloat:
			sc.Type = "DOUBLE"
		case serpstat.KindDate:
			sc.Type, sc.Logical = "INT32", "DATE"
		case serpstat.KindTimestamp:
			sc.Type, sc.Logical = "INT64", "TIMESTAMP(MICROS,isAdjustedToUTC=false)"
		case serpstat.KindStrings:
			sc.Type, sc.Logical = "LIST", "LIST<STRING>"
		default:
			sc.Type, sc.Logical = "BYTE_ARRAY", "STRING"
		}
		cols = append(cols, sc)
	}
	if m.Extra {
		// The JSON object of unknown keys, as text.
		cols = append(cols, schemaColumn{serpstat.ExtraColumn, "BYTE_ARRAY", "STRING", "json"})
	}
	return cols
}
