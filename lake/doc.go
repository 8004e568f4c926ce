// Package lake runs an export of one or many queries into a data lake: it
// parses the --out templates ({query}, {date}, {method}, {run}, {part}),
// locks and probes the destinations before a credit is spent, exports each
// query with one rate limiter and one budget (exporter, pager), rolls
// outputs over into parts, commits every output of a query (or the shared
// ones) together or none, writes the manifest (listing the files earlier
// runs of the partition left) and _SUCCESS, keeps the incremental state
// and the run record (what became of each query, so that a rerun of the
// same command and date pays nothing twice), and reports the run as one
// Summary, rendered as JSON or as text.
//
// It takes its settings as a plain Settings value and a *slog.Logger;
// the command (cmd/serpstat-export) keeps the flags, the config, the
// terminal UI, signals and exit codes, and wires a Run.
package lake
