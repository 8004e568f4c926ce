package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// The run record makes a scheduler's retry free. A run of several
// queries, each into its own outputs, commits a query's outputs as soon
// as it is exported; the record run-<digest>.json in the state directory
// (a local directory, or object storage when --state-dir is a URL) says,
// per query, what became of it: done (its outputs committed, listed with
// their checksums), failed, stopped (the budget) or interrupted, the
// credits it cost in all its attempts and the runs that tried it. It is
// written whole, atomically, after each query, and read again by the
// next run of the same command for the same logical date (the digest
// covers the method, its params, the outputs, the format and the date,
// not the list of queries nor the wall clock): a query done is reused,
// neither bought nor written again; any other is exported again, resuming
// from its spool. Fresh (--fresh, --restart) discards the record on
// purpose, and the files of the queries it exports again are removed once
// their new ones are committed, so no row is twice in the lake.
//
// The record is kept when the run ends, so a rerun of the same command
// and date bills nothing; an incremental load clears it once every query
// is done, since its cursor state already keeps the next run from buying
// a row again. A local record is locked by the run that uses it; one on
// object storage by the coordinator's lock "run-record:<URL>".

const runRecordVersion = 2

// The status of a query in the run record and the summary.
const (
	StatusDone        = "done"        // outputs committed
	StatusFailed      = "failed"      // the API refused it, or an output failed
	StatusStopped     = "stopped"     // the budget, the balance or the account stopped it
	StatusInterrupted = "interrupted" // Ctrl-C, SIGTERM
)

// RecordedQuery is what the run record keeps of a query.
type RecordedQuery struct {
	Status string          `json:"status"`
	Error  string          `json:"error,omitempty"`
	Params serpstat.Params `json:"params"`
	Rows   int64           `json:"rows"`
	// Credits is what the query cost in all the attempts of the run.
	Credits int64         `json:"credits_billed_in_all"`
	Files   []*fileRecord `json:"files,omitempty"`
	State   *QueryState   `json:"incremental_state,omitempty"`
	Dropped int64         `json:"dropped,omitempty"`
	// Run is the run that committed it (done), else the last that tried;
	// Runs every run that tried it, oldest first.
	Run     string    `json:"run"`
	Runs    []string  `json:"runs"`
	Updated time.Time `json:"updated"`
}

// runRecord is the record of a run's queries and where it lives.
type runRecord struct {
	target string // its path or URL
	s3     dest.S3Options
	lock   *dest.PathLock // a local record's

	Version int                       `json:"version"`
	Key     json.RawMessage           `json:"key"`
	Date    string                    `json:"date"`
	Queries map[string]*RecordedQuery `json:"queries"`

	// old is, on a fresh start, what the discarded record held: the files
	// of its done queries go once their new ones are committed.
	old map[string]*RecordedQuery
}

// runKey is what decides a run's outputs, but for its list of queries.
type runKey struct {
	Method         string          `json:"method"`
	Params         serpstat.Params `json:"params"` // Query left empty
	MaxRows        int             `json:"max_rows,omitempty"`
	Out            []string        `json:"out"`
	Format         string          `json:"format,omitempty"`
	MaxRowsPerFile int             `json:"max_rows_per_file,omitempty"`
	CSVRaw         bool            `json:"csv_raw,omitempty"`
	CSVBOM         bool            `json:"csv_bom,omitempty"`
	Incremental    string          `json:"incremental,omitempty"`
	Date           string          `json:"date"`
}

// RecordKey is the digest that names the run record of a run with the
// settings s, method m, params and logical date: the same for every run
// of the same command and date, whatever its queries.
func RecordKey(s Settings, m *serpstat.Method, params serpstat.Params, date string) (string, json.RawMessage) {
	params.Query = ""
	k, _ := json.Marshal(runKey{Method: m.API, Params: params, MaxRows: s.MaxRows, Out: s.Out, Format: s.Format,
		MaxRowsPerFile: s.MaxRowsPerFile, CSVRaw: s.CSVRaw, CSVBOM: s.CSVBOM, Incremental: s.Incremental, Date: date})
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:8]), k
}

// recordTarget is where the record named name lives: under --state-dir
// (a directory or a directory URL), else .serpstat-export-state/.
func (s *Settings) recordTarget(name string) string {
	switch {
	case s.StateDir == "":
		return filepath.Join(".serpstat-export-state", name)
	case s.RemoteState():
		return dest.JoinDir(s.StateDir, name)
	}
	if p, ok := dest.LocalPath(s.StateDir); ok {
		return filepath.Join(p, name)
	}
	return filepath.Join(s.StateDir, name)
}

// openRunRecord takes the record's lock and reads the record of an
// earlier run of the same command and date, or starts an empty one.
// Fresh starts an empty one on purpose (keeping the old one's done
// queries to remove their files later); a damaged record is refused
// (exit 2) unless Fresh, which keeps a .damaged copy of it.
func (r *Run) openRunRecord(ctx context.Context, params serpstat.Params, date string) (*runRecord, error) {
	s := r.Settings
	digest, k := RecordKey(s, r.descriptor(), params, date)
	rec := &runRecord{target: s.recordTarget("run-" + digest + ".json"), s3: s.s3(), Version: runRecordVersion,
		Key: k, Date: date, Queries: map[string]*RecordedQuery{}}
	where := RedactURL(rec.target)
	if p, ok := dest.LocalPath(rec.target); ok && !s.RemoteState() {
		l, err := dest.LockPath(p)
		if errors.Is(err, dest.ErrLocked) {
			return nil, usagef("run record %s: %v: another run of this command is under way; wait for it to end", where, err)
		}
		if err != nil {
			return nil, fmt.Errorf("run record %s: %w", where, err)
		}
		rec.lock = l
	} else if r.Lock != nil {
		if err := r.Lock(ctx, "run-record:"+where); err != nil {
			if errors.Is(err, coord.ErrLocked) {
				return nil, usagef("run record %s: %v: another run of this command is under way; wait for it to end", where, err)
			}
			return nil, err
		}
	}
	data, err := dest.ReadAll(ctx, rec.target, rec.s3)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		rec.close()
		return nil, fmt.Errorf("run record %s: %w", where, err)
	}
	old, damaged := decodeRunRecord(data, k)
	switch {
	case damaged != nil && !s.Fresh:
		rec.close()
		return nil, usagef("run record %s is damaged (%v): it says which queries this command already exported and paid for; run the same command with --fresh to start over (the record is kept as %s)",
			where, damaged, RedactURL(withSuffix(rec.target, ".damaged")))
	case damaged != nil:
		if err := dest.WriteAll(ctx, withSuffix(rec.target, ".damaged"), data, rec.s3); err != nil {
			rec.close()
			return nil, fmt.Errorf("--fresh: keeping a copy of the damaged run record %s: %w", where, err)
		}
		r.logger().Warn("--fresh: the damaged run record was set aside", "record", RedactURL(withSuffix(rec.target, ".damaged")))
	case s.Fresh:
		rec.old = old.Queries
	default:
		if old.Queries != nil {
			rec.Queries = old.Queries
		}
	}
	return rec, nil
}

// decodeRunRecord is the record data holds, or why it is not the record
// of the command whose key is k (damaged, or another version or command).
func decodeRunRecord(data, k []byte) (runRecord, error) {
	var old runRecord
	if err := json.Unmarshal(data, &old); err != nil {
		return old, err
	}
	if old.Version != runRecordVersion || !jsonSame(old.Key, k) {
		return old, fmt.Errorf("version %d of another command", old.Version)
	}
	return old, nil
}

func jsonSame(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// place is the record's path or URL, for messages; "" for none.
func (rec *runRecord) place() string {
	if rec == nil {
		return ""
	}
	return RedactURL(rec.target)
}

// close releases a local record's lock.
func (rec *runRecord) close() {
	if rec != nil && rec.lock != nil {
		_ = rec.lock.Unlock()
		rec.lock = nil
	}
}

// save writes the record whole.
func (rec *runRecord) save(ctx context.Context) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := dest.WriteAll(ctx, rec.target, append(data, '\n'), rec.s3); err != nil {
		return fmt.Errorf("run record %s: %w", rec.place(), err)
	}
	return nil
}

// note records what became of a query of this run, durably.
func (rec *runRecord) note(ctx context.Context, run string, qr *QueryResult, st *QueryState) error {
	if rec == nil {
		return nil
	}
	prev := rec.Queries[qr.Query]
	q := &RecordedQuery{Status: StatusOf(ctx, qr.Err), Params: qr.Params, Files: qr.Files, State: st, Dropped: qr.Dropped,
		Run: run, Updated: time.Now().UTC()}
	if prev != nil {
		q.Runs, q.Credits = prev.Runs, prev.Credits
	}
	if len(q.Runs) == 0 || q.Runs[len(q.Runs)-1] != run {
		q.Runs = append(q.Runs, run)
	}
	if qr.Err != nil {
		q.Error = qr.Err.Error()
	}
	if rep := qr.Report; rep != nil {
		q.Rows = qr.written()
		// The spool counts the attempts it kept (a spool removed held
		// nothing paid for); the record counts every attempt of the run.
		q.Credits = max(rep.CreditsInAll, q.Credits+rep.Credits)
	}
	qr.CreditsInAll = q.Credits
	rec.Queries[qr.Query] = q
	return rec.save(ctx)
}

// reuse returns the result of a query an earlier run of the command
// finished and committed, or nil. A query one of whose local files is
// gone is not reused (missing names it): it is exported again.
func (rec *runRecord) reuse(q string, state *State) (qr *QueryResult, missing string) {
	if rec == nil {
		return nil, ""
	}
	f := rec.Queries[q]
	if f == nil || f.Status != StatusDone {
		return nil, ""
	}
	for _, file := range f.Files {
		if p, ok := dest.LocalPath(file.Path); ok {
			if _, err := os.Stat(p); err != nil {
				return nil, file.Path
			}
		}
	}
	if state != nil && f.State != nil {
		state.Queries[q] = f.State
	}
	return &QueryResult{Query: q, Params: f.Params, Files: f.Files, Dropped: 0, Earlier: f, CreditsInAll: f.Credits, committed: true,
		Report: &exporter.Report{Query: q, Rows: f.Rows, Complete: true, StopReason: "done by an earlier run", CreditsByBalance: -1,
			LeftLines: -1, StartBalance: -1, CreditsInAll: f.Credits, CreditsEarlier: f.Credits}}, ""
}

// recordedDone is, for an estimate, the queries an export of the same
// settings would reuse: those the run record of the same command and date
// says are done (and whose local files are there), read without taking
// the record's lock. None when the export would keep no record (one
// query, shared outputs), with Fresh or Restart, or when the record
// cannot be read (the export says why).
func (r *Run) recordedDone(ctx context.Context) map[string]*RecordedQuery {
	s := r.Settings
	if s.Fresh || s.Restart || len(s.Queries) < 2 || len(s.Out) == 0 {
		return nil
	}
	specs, err := parseOuts(s.Out, s.Format, true, s.MaxRowsPerFile, s.method())
	if err != nil || !allPerQuery(specs) {
		return nil
	}
	digest, k := RecordKey(s, r.descriptor(), r.Pager.Params(), s.date())
	data, err := dest.ReadAll(ctx, s.recordTarget("run-"+digest+".json"), s.s3())
	if err != nil {
		return nil
	}
	old, damaged := decodeRunRecord(data, k)
	if damaged != nil {
		return nil
	}
	rec, done := &runRecord{Queries: old.Queries}, map[string]*RecordedQuery{}
	for _, q := range s.Queries {
		if qr, _ := rec.reuse(q, nil); qr != nil {
			done[q] = qr.Earlier
		}
	}
	return done
}

// done tells whether every query of qs is done in the record.
func (rec *runRecord) done(qs []string) bool {
	for _, q := range qs {
		if f := rec.Queries[q]; f == nil || f.Status != StatusDone {
			return false
		}
	}
	return true
}

// remove deletes the record: an incremental load whose every query is done.
func (rec *runRecord) remove(ctx context.Context) error {
	if err := dest.Remove(ctx, rec.target, rec.s3); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("run record %s: %w", rec.place(), err)
	}
	return nil
}

// StatusOf is the status of a query that ended with err: done, stopped
// (the budget, the balance, the account's budget), interrupted, or failed.
func StatusOf(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return StatusDone
	case errors.Is(err, pager.ErrBudgetExhausted):
		return StatusStopped
	case errors.Is(err, pager.ErrInterrupted), errors.Is(err, context.Canceled), ctx.Err() != nil,
		errors.Is(err, syscall.EPIPE): // stdout's reader went away
		return StatusInterrupted
	}
	return StatusFailed
}

// dropSuperseded removes, once query qr's new outputs are committed, the
// files an earlier run of the same outputs left for it on the same date
// (listed by the partition's manifest, or by a run record that --fresh
// discarded) and that the new ones did not replace: a query exported
// again overwrites its partition, so none of its rows is there twice.
// An incremental load never comes here: its earlier files hold other rows.
func (r *Run) dropSuperseded(ctx context.Context, qr *QueryResult, specs []*outSpec, date string, prev *earlier, rec *runRecord) {
	var old []*fileRecord
	if rec != nil && rec.old[qr.Query] != nil {
		old = rec.old[qr.Query].Files
	}
	r.dropEarlier(ctx, qr.Query, qr.Files, specs, date, prev, old)
}

// dropEarlier removes the files of query (or, for "", of the outputs the
// queries share) that earlier runs of the same templates left on date,
// listed in prev or old, that written did not replace; and takes them
// out of prev, so the manifest no longer lists them.
func (r *Run) dropEarlier(ctx context.Context, query string, written []*fileRecord, specs []*outSpec, date string, prev *earlier, old []*fileRecord) {
	now := map[string]bool{}
	for _, f := range written {
		now[cleanPath(f.Path)] = true
	}
	ours := func(f *fileRecord) bool {
		if f.Query != query || now[cleanPath(f.Path)] {
			return false
		}
		for _, sp := range specs {
			if sp.perQuery == (query != "") && !sp.stdout && cleanPath(expand(sp.tmpl, query, date, f.Run, f.Part, sp.method)) == cleanPath(f.Path) {
				return true
			}
		}
		return false
	}
	var gone []*fileRecord
	if prev != nil && prev.m != nil {
		for _, f := range prev.m.Files {
			if ours(f) {
				gone = append(gone, f)
			}
		}
	}
	for _, f := range old {
		if ours(f) {
			gone = append(gone, f)
		}
	}
	removed := map[string]bool{}
	for _, f := range gone {
		p := cleanPath(f.Path)
		if removed[p] {
			continue
		}
		if err := dest.Remove(ctx, f.Path, r.s3()); err != nil {
			r.logger().Warn("could not remove a file the new outputs replace", "query", query, "path", RedactURL(f.Path), "error", err)
			continue
		}
		removed[p] = true
		r.logger().Info("removed a file of an earlier export, replaced by this run's", "query", query, "path", RedactURL(f.Path), "written_by_run", f.Run)
	}
	if prev != nil && prev.m != nil && len(removed) > 0 {
		kept := prev.m.Files[:0]
		for _, f := range prev.m.Files {
			if !removed[cleanPath(f.Path)] {
				kept = append(kept, f)
			}
		}
		prev.m.Files = kept
	}
}

// withSuffix is target with suffix added to its name, before a URL's
// query string.
func withSuffix(target, suffix string) string {
	if base, query := splitURLQuery(target); dest.IsURL(target) {
		return base + suffix + query
	}
	return target + suffix
}

// cleanPath is p, cleaned and absolute when it is a local path, for
// comparisons: an output named /data/x.csv and the same file read back
// from a manifest as ../../data/x.csv are one file.
func cleanPath(p string) string {
	if dest.IsURL(p) || p == "-" {
		return p
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}
