package lake

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/serpstat-export/serpstat-export/dest"
)

// commitAll commits the last part of every output of a query (or of the
// shared ones) together: first each is completed and flushed to its
// temporary file or upload, and only when all are complete is any renamed
// into place. A failure before the renames aborts them all: nothing
// appears, no temporary file stays. A rename that fails after others
// succeeded rolls back what can be: the outputs it committed that did not
// exist before are removed again (a local file that it replaced keeps
// the new, complete content: the old one is gone), and the rest are
// aborted. Parts committed at a rollover (--max-rows-per-file) stay, as
// no manifest names them.
func commitAll(ctx context.Context, outs []*output) error {
	for _, o := range outs {
		if err := o.seal(); err != nil {
			for _, a := range outs {
				a.abort()
			}
			return err
		}
	}
	var done []*output
	var fresh []bool // done[i]'s destination did not exist before
	for i, o := range outs {
		existed := o.destExists(ctx)
		if err := o.commitSealed(); err != nil {
			for _, a := range outs[i:] {
				a.abort()
			}
			var rolled, kept []string
			for j, d := range done {
				rec := d.files[len(d.files)-1]
				if fresh[j] && dest.Remove(ctx, rec.Path, d.s3) == nil {
					d.files = d.files[:len(d.files)-1]
					rolled = append(rolled, rec.Path)
				} else {
					kept = append(kept, rec.Path)
				}
			}
			msg := "no output of this query was committed"
			if len(kept) > 0 {
				msg = "the outputs were not all committed"
			}
			if len(rolled) > 0 {
				msg += fmt.Sprintf("; rolled back %q", rolled)
			}
			if len(kept) > 0 {
				msg += fmt.Sprintf("; already replaced, complete: %q", kept)
			}
			return fmt.Errorf("%w (%s)", err, msg)
		}
		done = append(done, o)
		fresh = append(fresh, !existed)
	}
	return nil
}

// seal completes the output's last part (an empty first part when no row
// came) and flushes it, without committing it.
func (o *output) seal() error {
	if o.w == nil && (len(o.files) > 0 || o.skipEmpty) {
		// The last part was committed at a rollover, or no row came to an
		// output that writes no empty file.
		return nil
	}
	if o.w == nil {
		if err := o.open(); err != nil {
			return err
		}
	}
	if err := o.w.Close(); err != nil {
		return fmt.Errorf("--out %s: %w", o.path, err)
	}
	o.sealed = true
	return nil
}

// commitSealed commits the part seal completed.
func (o *output) commitSealed() error {
	if !o.sealed {
		return nil
	}
	o.sealed = false
	return o.commitClosed()
}

// destExists tells whether the output's current part is already there,
// for a local file; objects are taken as new.
func (o *output) destExists(ctx context.Context) bool {
	if !o.sealed || o.dest == nil {
		return false
	}
	p, ok := dest.LocalPath(o.path)
	if !ok {
		return false
	}
	_, err := os.Stat(p)
	return !errors.Is(err, os.ErrNotExist)
}
