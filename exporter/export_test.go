package exporter

// SetMaxPointRows sets maxPointRows for a test and returns the function
// that restores it.
func SetMaxPointRows(n int) (restore func()) {
	old := maxPointRows
	maxPointRows = n
	return func() { maxPointRows = old }
}
