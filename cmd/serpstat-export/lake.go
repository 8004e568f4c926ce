package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// queryList gathers the run's queries: every --query (or the config's
// query and queries), then --queries-file (one domain a line, # comments
// and blank lines ignored, - for stdin). A domain given twice is exported
// once.
func queryList(s settings, stdin io.Reader) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(q string) {
		q = strings.TrimSpace(q)
		if q != "" && !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	for _, q := range s.Queries {
		add(q)
	}
	if s.QueriesFile != "" {
		var r io.Reader = stdin
		if s.QueriesFile != "-" {
			f, err := os.Open(s.QueriesFile)
			if err != nil {
				return nil, usagef("--queries-file: %v", err)
			}
			defer f.Close()
			r = f
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			add(line)
		}
		if err := sc.Err(); err != nil {
			return nil, usagef("--queries-file: %v", err)
		}
	}
	if len(out) == 0 {
		return nil, &serpstat.ParamError{Field: "query", Msg: "is required: the domain to analyse, e.g. --query example.com (or --queries-file FILE)"}
	}
	return out, nil
}

// Incremental loads: the state keeps, per query, the newest first_seen
// exported and the rows of that day, so that the next run asks only for
// rows first seen on or after it and drops the ones it already has.

const stateVersion = 1

type incrementalState struct {
	Version int                    `json:"version"`
	Method  string                 `json:"method"`
	Queries map[string]*queryState `json:"queries"`
}

type queryState struct {
	// Newest is the newest first_seen exported, YYYY-MM-DD.
	Newest string `json:"newest_first_seen"`
	// Boundary holds a hash of each row first seen on Newest.
	Boundary []string  `json:"boundary"`
	Rows     int64     `json:"rows_exported"`
	Updated  time.Time `json:"updated"`
}

func loadState(ctx context.Context, target string, s3 dest.S3Options) (*incrementalState, error) {
	st := &incrementalState{Version: stateVersion, Method: methodName, Queries: map[string]*queryState{}}
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
	if st.Queries == nil {
		st.Queries = map[string]*queryState{}
	}
	return st, nil
}

func (st *incrementalState) save(ctx context.Context, target string, s3 dest.S3Options) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return dest.WriteAll(ctx, target, append(data, '\n'), s3)
}

// since is the condition that asks only for rows first seen on or after
// the newest one exported.
func (q *queryState) since() (serpstat.Condition, error) {
	t, err := time.Parse(time.DateOnly, q.Newest)
	if err != nil {
		return serpstat.Condition{}, fmt.Errorf("incremental state: bad date %q", q.Newest)
	}
	return serpstat.Condition{Field: "add", CompareType: "gte", Value: []any{serpstat.FormatFilterDate(t)}}, nil
}

// andInto ANDs c into every group of f (an empty filter becomes one group).
func andInto(f serpstat.Filter, c serpstat.Condition) serpstat.Filter {
	if len(f) == 0 {
		return serpstat.Filter{{c}}
	}
	out := make(serpstat.Filter, len(f))
	for i, g := range f {
		out[i] = append(append(make([]serpstat.Condition, 0, len(g)+1), g...), c)
	}
	return out
}

func rowHash(r *serpstat.Backlink) string {
	js, _ := json.Marshal(r)
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:12])
}

// tracker sits in front of a query's sinks: it drops the rows of the
// boundary day that an earlier run exported, and follows the newest
// first_seen and the rows of that day for the next state.
type tracker struct {
	next []interface {
		Write([]serpstat.Backlink) error
	}
	prevNewest string          // the earlier run's newest first_seen
	seen       map[string]bool // the earlier run's rows of that day
	newest     string
	day        map[string]bool // hashes of rows first seen on newest
	rows       int64
	dropped    int64
	buf        []serpstat.Backlink
}

func newTracker(prev *queryState) *tracker {
	t := &tracker{seen: map[string]bool{}, day: map[string]bool{}}
	if prev != nil {
		t.prevNewest, t.newest = prev.Newest, prev.Newest
		for _, h := range prev.Boundary {
			t.seen[h] = true
			t.day[h] = true
		}
	}
	return t
}

func (t *tracker) Write(rows []serpstat.Backlink) error {
	t.buf = t.buf[:0]
	for i := range rows {
		r := &rows[i]
		// A row is hashed only on the earlier run's boundary day (to drop
		// it if that run had it) and on the newest day seen (for the
		// next run).
		h := ""
		if t.prevNewest != "" && r.FirstSeen == t.prevNewest {
			if h = rowHash(r); t.seen[h] {
				t.dropped++ // exported by the earlier run
				continue
			}
		}
		if r.FirstSeen > t.newest {
			t.newest = r.FirstSeen
			clear(t.day)
		}
		if r.FirstSeen == t.newest {
			if h == "" {
				h = rowHash(r)
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
func (t *tracker) state(prev *queryState, now time.Time) *queryState {
	q := &queryState{Newest: t.newest, Rows: t.rows, Updated: now.UTC()}
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
	RunID         string          `json:"run_id"`
	Created       time.Time       `json:"created"`
	Date          string          `json:"date"`
	Method        string          `json:"method"`
	Files         []*fileRecord   `json:"files"`
	Queries       []manifestQuery `json:"queries"`
	Schema        []schemaColumn  `json:"schema"`
	CreditsBilled int64           `json:"credits_billed"`
	Complete      bool            `json:"complete"` // every query was exported
}

type manifestQuery struct {
	Query         string                      `json:"query"`
	Run           string                      `json:"run,omitempty"` // the run that exported it
	Status        string                      `json:"status"`        // done, failed
	Error         string                      `json:"error,omitempty"`
	Rows          int64                       `json:"rows"`
	CreditsBilled int64                       `json:"credits_billed"`
	Params        serpstat.NewBacklinksParams `json:"params"`
	// NoNewRows: an incremental load found nothing newer than the last
	// run (it paid for the boundary day's check only) and wrote no file.
	NoNewRows bool `json:"no_new_rows,omitempty"`
}

type schemaColumn struct {
	Name    string `json:"name"`
	Type    string `json:"type"` // as Parquet writes it
	Logical string `json:"logical,omitempty"`
}

// schemaOf is the columns every format writes, with the Parquet types.
func schemaOf(queryColumn bool) []schemaColumn {
	cols := []schemaColumn{
		{"url_from", "BYTE_ARRAY", "STRING"}, {"url_to", "BYTE_ARRAY", "STRING"},
		{"nofollow", "BYTE_ARRAY", "STRING"}, {"link_type", "BYTE_ARRAY", "STRING"},
		{"links_ext", "INT64", ""}, {"link_text", "BYTE_ARRAY", "STRING"},
		{"first_seen", "INT32", "DATE"}, {"last_visited", "INT64", "TIMESTAMP(MICROS,isAdjustedToUTC=false)"},
		{"domain_rank", "INT64", ""},
	}
	if queryColumn {
		cols = append([]schemaColumn{{"query", "BYTE_ARRAY", "STRING"}}, cols...)
	}
	return cols
}
