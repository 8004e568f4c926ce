package lake

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
)

// file is where the spool's file name lives, for messages: a local path
// or a URL (its password redacted), the real place, never a temporary
// copy.
func (s *spool) file(name string) string {
	if s.blob != nil {
		return RedactURL(dest.JoinDir(s.place, name))
	}
	return filepath.Join(s.place, name)
}

// damagedJournal is the usage error of a spool whose journal cannot be
// read: it names the file where it is and the repair that keeps the
// record of what was spent.
func damagedJournal(at string, dj *exporter.DamagedJournalError) error {
	what := "what export the spool's pages belong to"
	if dj.File == "credits.json" {
		what = "the credits this export spent over its attempts, which --budget counts: deleting it would forget that spend"
	}
	return usagef("the spool's journal %s is damaged (%v); it records %s. Run the same command with --repair-spool (repair_spool: true) to rebuild it from what can be read: the credits recorded are never less than the pages kept prove, and the damaged file is kept as %s%s",
		at, dj.Err, what, at, exporter.DamagedSuffix)
}

// repairSpool rebuilds the journal of query q's spool when it is damaged
// (--repair-spool) and logs what it did.
func (r *Run) repairSpool(ctx context.Context, q string, sp *spool, store exporter.Store, key SpoolKey) error {
	rep, err := exporter.RepairSpool(ctx, store, key)
	if err != nil {
		return fmt.Errorf("--repair-spool %s: %w", RedactURL(sp.place), err)
	}
	if rep == nil {
		r.logger().Info("--repair-spool: the spool's journal is whole, nothing to repair", "query", q, "spool", RedactURL(sp.place))
		return nil
	}
	for _, f := range rep.Files {
		attrs := []any{"query", q, "file", sp.file(f), "damaged_copy", sp.file(f) + exporter.DamagedSuffix}
		if f == "credits.json" {
			attrs = append(attrs, "credits_spent", rep.Spent, "proven_by_the_pages_kept", rep.Proven)
			if rep.Readable >= 0 {
				attrs = append(attrs, "readable_in_the_damaged_file", rep.Readable)
			}
		}
		r.logger().Warn("--repair-spool: rebuilt the spool's journal", attrs...)
	}
	return nil
}
