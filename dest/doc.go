// Package dest is where an output's bytes go: a local file written to a
// temporary file and renamed into place on Commit (File), or an object in
// S3, GCS or Azure Blob Storage uploaded in parts and completed on Commit
// (Open), so that a reader never sees half an output. It also reads and
// removes targets, lists and removes object "directories", locks local
// paths against a second run (LockPath) and probes a destination before a
// run spends anything (Probe).
//
// Nothing is process-wide: a run that writes to object storage owns a
// Buckets value, set in S3Options.Buckets, and closes it when its outputs
// are committed or aborted; without one, each call opens and closes its
// bucket.
package dest
