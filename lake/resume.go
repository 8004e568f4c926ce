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

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// A run of several queries, each into its own outputs, commits a query's
// outputs as soon as it is exported and removes its spool. So that a run
// stopped before its end (the budget, credits, Ctrl-C, kill -9) does not
// pay for those queries again when the same command is run again, each
// finished query is recorded in a run record under the state directory;
// the next run of the same command skips the queries it lists, and the
// record is removed once a run reaches its end (manifest and incremental
// state written). The record's name is a digest of what decides the
// outputs, the run's date included: a run on another day starts over.

const runRecordVersion = 1

// runRecord is the record of a run's finished queries.
type runRecord struct {
	path string

	Version  int                       `json:"version"`
	Key      json.RawMessage           `json:"key"`
	Finished map[string]*FinishedQuery `json:"finished"`
}

// FinishedQuery is a query whose outputs were committed, as the record of
// finished queries keeps it.
type FinishedQuery struct {
	Params  serpstat.Params `json:"params"`
	Rows    int64           `json:"rows"`
	Credits int64           `json:"credits_billed"`
	Files   []*fileRecord   `json:"files"`
	State   *QueryState     `json:"incremental_state,omitempty"`
	Dropped int64           `json:"dropped,omitempty"`
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
	Incremental    string          `json:"incremental,omitempty"`
	Date           string          `json:"date"`
}

// openRunRecord reads the record of an earlier, unfinished run of the same
// command, or starts an empty one. --restart discards it.
func openRunRecord(s Settings, m *serpstat.Method, params serpstat.Params, date string) (*runRecord, error) {
	params.Query = ""
	k, err := json.Marshal(runKey{Method: m.API, Params: params, MaxRows: s.MaxRows, Out: s.Out,
		Format: s.Format, MaxRowsPerFile: s.MaxRowsPerFile, CSVRaw: s.CSVRaw, Incremental: s.Incremental, Date: date})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(k)
	base := s.StateDir
	if base == "" {
		base = ".serpstat-export-state"
	}
	r := &runRecord{path: filepath.Join(base, "run-"+hex.EncodeToString(sum[:8])+".json"), Version: runRecordVersion,
		Key: k, Finished: map[string]*FinishedQuery{}}
	if s.Restart {
		return r, r.remove()
	}
	data, err := os.ReadFile(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("run record: %w", err)
	}
	var old runRecord
	if err := json.Unmarshal(data, &old); err != nil || old.Version != runRecordVersion || !jsonSame(old.Key, k) {
		return nil, usagef("%s is not the record of this run's finished queries; add --restart to discard it", r.path)
	}
	if old.Finished != nil {
		r.Finished = old.Finished
	}
	return r, nil
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

// finish records a query whose outputs are committed, durably.
func (r *runRecord) finish(ctx context.Context, qr *QueryResult, st *QueryState) error {
	if r == nil {
		return nil
	}
	f := &FinishedQuery{Params: qr.Params, Files: qr.Files, State: st, Dropped: qr.Dropped}
	if qr.Report != nil {
		f.Rows, f.Credits = qr.Report.Rows, qr.Report.Credits
	}
	r.Finished[qr.Query] = f
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
		return err
	}
	return dest.WriteAll(ctx, r.path, append(data, '\n'), dest.S3Options{})
}

// skip returns the result of a query an earlier run finished, or nil.
func (r *runRecord) skip(q string, state *State) *QueryResult {
	if r == nil {
		return nil
	}
	f := r.Finished[q]
	if f == nil {
		return nil
	}
	if state != nil && f.State != nil {
		state.Queries[q] = f.State
	}
	return &QueryResult{Query: q, Params: f.Params, Files: f.Files, Dropped: f.Dropped, Earlier: f,
		Report: &exporter.Report{Query: q, Rows: f.Rows, Complete: true, StopReason: "done by an earlier run", CreditsByBalance: -1, LeftLines: -1}}
}

// remove deletes the record: the run reached its end.
func (r *runRecord) remove() error {
	if r == nil {
		return nil
	}
	if err := os.Remove(r.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("run record: %w", err)
	}
	return nil
}

// BudgetStop is the budget's stop of a run of several queries: what it
// spent and what it finished.
type BudgetStop struct {
	err          error
	Spent        int64 // credits this run spent
	Finished, Of int   // queries whose outputs are committed, of all
	Recorded     bool  // the finished queries are in a run record
}

func (e *BudgetStop) Error() string { return e.err.Error() }
func (e *BudgetStop) Unwrap() error { return e.err }
