//go:build !unix

package main

// ignoreSIGPIPE does nothing where there is no SIGPIPE (Windows): a write
// to a closed pipe fails with an error there already.
func ignoreSIGPIPE() {}
