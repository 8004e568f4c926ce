package lake

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
