//go:build !unix

package coord

// processGone cannot tell here: a lock of a dead process then waits for
// its TTL.
func processGone(int) bool { return false }
