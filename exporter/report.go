package exporter

import (
	"errors"
	"time"

	"github.com/serpstat-export/serpstat-export/pager"
)

// PlanReport is what the plan of a run said, in numbers.
type PlanReport struct {
	Total     int // rows the query matches, as page 1 told
	Reachable int // rows the plan exports
	Pages     int // requests planned, page 1 and probes included
	Size      int
	Wall      int
}

// Snapshot is how far a run is, for a progress display.
type Snapshot struct {
	Rows, Pages int64 // written so far
	Planned     int64 // rows the run will write; 0 before page 1
	Credits     int64 // billed so far
	Budget      int64 // the cap; 0 for none
	Requests    int64 // requests sent, retries included
	Retries     int64
	RateLimited int64
}

// Stop reasons.
const (
	StopDone        = "done"
	StopWall        = "wall"
	StopBudget      = "budget"
	StopBalance     = "balance"
	StopMaxRows     = "max-rows"
	StopError       = "error"
	StopInterrupted = "interrupted"
	// StopInDoubt: slicing could not prove it reaches every row (see
	// ErrRowsInDoubt).
	StopInDoubt  = "rows-in-doubt"
	StopUnproven = "unproven" // see ErrUnproven
)

// ErrRowsInDoubt is returned when slicing could not prove that its parts
// reach every row of the query: a slicing filter did not partition a part
// (its parts' totals did not add up, or a slice answered rows its filter
// excludes: the API ignored the filter or applies it otherwise than
// documented), the probes' allowance ran out, or the API drew its wall
// earlier than planned. The rows exported are written; the run is not a
// success, and Report.SliceInDoubt says how many rows are in doubt.
var ErrRowsInDoubt = errors.New("slicing could not prove it reaches every row: rows are in doubt")

// Report says what a run did.
type Report struct {
	// Method is the name of the method exported ("new-backlinks").
	Method   string
	Query    string
	Plan     PlanReport
	Pages    int   // pages written, page 1 included
	Rows     int64 // rows written
	Complete bool  // every reachable row was written
	// Partial is set when the run stopped early on purpose (Partial mode)
	// and the outputs hold what was paid for.
	Partial     bool
	StopReason  string
	Unreachable int // matching rows past the wall, or refused as such

	CreditsEstimated int64 // what the export was planned to cost
	Credits          int64 // credits billed by this run, counted from the answers
	// CreditsByBalance is the drop of the account's balance over the run,
	// from the answers' left_lines; -1 when the API did not tell. Others
	// spending from the same account show up here too.
	CreditsByBalance int64
	CreditsLeft      int64 // credits still needed to finish, when stopped early
	StartBalance     int64 // -1 unknown
	LeftLines        int64 // the balance after the last answer; -1 unknown
	Cut              int64 // surplus rows fetched for the last page and not written
	UnwrittenPages   int   // pages paid for but not written (after a gap)
	Resumed          int   // pages loaded from the checkpoint, not asked again
	Duplicates       int64 // rows dropped as already written (new rows pushed them across a page boundary)
	Repaired         int   // invalid UTF-8 sequences from the API, written as U+FFFD
	LastTotal        int   // the total a later page reported, when it changed; 0 if never
	Requests         int64 // requests sent (attempts: retries and probes included)
	Retries          int64
	RateLimited      int64
	Workers          int // most requests in flight at once
	Elapsed          time.Duration

	// CreditsEarlier is what earlier attempts of the same export spent, as
	// its checkpoint recorded (requests that may have been billed when a
	// run was killed included); CreditsInAll is the export's spend in all,
	// earlier attempts and this one: what --budget caps. Attempts counts
	// the runs, this one included (1 without a checkpoint's record).
	CreditsEarlier int64
	CreditsInAll   int64
	Attempts       int
	// DamagedPages counts stored pages that failed their checks (cut
	// short, edited, another page's content) and were bought again.
	DamagedPages int
	// Reread counts rows read again to repair shifts made by new data;
	// InDoubt counts rows that existed at the start and whose export
	// could not be proven (Run then fails with ErrUnproven).
	Reread  int64
	InDoubt int64
	// Unkept is the credits spent on pages the checkpoint could not
	// store (disk full): they were written to the outputs if the run got
	// that far, but a resume pays for them again.
	Unkept int64

	// Guard is the most the export's plan let it spend in all (see
	// pager.Plan.Guard); 0 before page 1.
	Guard int64
	// NoEffect lists the slicing filters that did not partition a part
	// (the API ignored them or applied them otherwise than documented).
	NoEffect []pager.NoEffect `json:",omitempty"`
	// Sliced is set when the query was cut into slices to get past the
	// wall; Slices lists them in export order.
	Sliced       bool
	Slices       []SliceReport
	Probes       int   // requests sent to plan the slices
	ProbeCredits int64 // what they cost
	// SliceInDoubt is the rows slicing could not prove it reaches (see
	// ErrRowsInDoubt): past the wall in parts that a filter with no effect
	// or the probes' allowance left unsplit, or rows a slice's answers
	// showed its filter did not hold; they are counted in Unreachable too.
	SliceInDoubt int
	// NotSliced says why a query past the wall was not sliced: "--no-slice",
	// "--max-rows" (no more rows than the wall were wanted) or "the method
	// has no slicing field"; "" otherwise.
	NotSliced string `json:",omitempty"`
	// APIWall is set when the API stopped serving rows before the wall
	// planned with (--wall): the offset it stopped at.
	APIWall int `json:",omitempty"`
	// NotPaged is set for a method that is not paged: the export was its
	// one answer (Plan.Pages 1), whatever the answer's summary_info said.
	NotPaged bool `json:",omitempty"`
	// TotalUnknown is set when the API did not tell the query's total
	// (missing or null): pages were asked one after another until a short
	// one, and Plan.Total is the rows found.
	TotalUnknown bool

	// UnknownKeys counts, for each row key no column of the method knows,
	// the rows written that held it (their "extra" column); nil when none.
	UnknownKeys map[string]int64 `json:",omitempty"`
	// Intersect names the domain each links_count_N column counts for, as
	// the answers said (getIntersect); nil otherwise.
	Intersect map[string]string `json:",omitempty"`
}

// SliceReport is one slice of a sliced export.
type SliceReport struct {
	Label   string
	Planned int   // total the planning learned (or derived)
	Total   int   // total the slice's page 1 reported
	Rows    int64 // rows written, its Reused ones included
	// Reused is the rows of the slice page 1 held (written first), which
	// were not bought again.
	Reused int
	// Unreachable is the slice's rows past the wall (nothing split it);
	// InDoubt is set when that is because a slicing filter had no effect
	// there (or the probes' allowance ran out).
	InDoubt     bool `json:",omitempty"`
	Unreachable int
}

// SliceSum is the slices' totals added up, to compare with the unsliced
// total.
func (r *Report) SliceSum() int {
	n := 0
	for _, s := range r.Slices {
		n += s.Total
	}
	return n
}

// Difference is credits billed, in all the export's attempts, less credits
// estimated: retries of answers that were billed, surplus rows of a last
// page, empty pages, re-reads of rows new data shifted.
func (r *Report) Difference() int64 { return r.CreditsInAll - r.CreditsEstimated }

// RowsPerSecond is the rows written per second of the run.
func (r *Report) RowsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Rows) / r.Elapsed.Seconds()
}
