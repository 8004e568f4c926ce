package lake

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/serpstat-export/serpstat-export/dest"
)

// partWild stands for {part} in the path locked for a templated output:
// one lock covers every part of it.
const partWild = "{part}"

// outputLocks are the locks of a run's local outputs.
type outputLocks []*dest.PathLock

// lockOutputs takes the lock of every local output path the run will
// write (one per --out and query; a {part} template locks all its parts
// at once) before anything is touched, so that two runs never write the
// same path whatever their queries: the second is refused (exit 2) before
// it removes or sends anything. Holding the locks, it removes the
// temporary files killed runs left at those paths: no live run writes
// them. Objects in object storage are not locked.
func lockOutputs(specs []*outSpec, queries []string, date, run string) (outputLocks, error) {
	var locks outputLocks
	var bad []string // every path that cannot be written, not only the first
	badTmpl := map[string]bool{}
	seen := map[string]bool{}
	for _, sp := range specs {
		if sp.stdout {
			continue
		}
		for _, q := range sp.queriesOf(queries) {
			target := strings.ReplaceAll(expand(strings.ReplaceAll(sp.tmpl, "{part}", "\x00"), q, date, run, 0, sp.method), "\x00", partWild)
			path, ok := dest.LocalPath(target)
			if !ok || seen[path] {
				continue
			}
			seen[path] = true
			l, err := dest.LockPath(path)
			if errors.Is(err, dest.ErrLocked) {
				locks.release()
				return nil, usagef("--out %s: %v: wait for that run to end", sp.tmpl, err)
			}
			if err != nil {
				if !badTmpl[sp.tmpl] { // once a template, not once a query
					badTmpl[sp.tmpl] = true
					bad = append(bad, fmt.Sprintf("--out %s: cannot write there: %v", sp.tmpl, err))
				}
				continue
			}
			locks = append(locks, l)
			wild := ""
			if sp.parts {
				wild = partWild
			}
			dest.RemoveTemps(path, wild)
		}
	}
	if len(bad) > 0 {
		locks.release()
		return nil, usagef("%s", problems(fmt.Sprintf("%d outputs cannot be written", len(bad)), bad))
	}
	return locks, nil
}

// release removes the lock files and releases the locks.
func (ls outputLocks) release() {
	for _, l := range ls {
		_ = l.Unlock()
	}
}

// probeDestinations checks, before the first credit is spent, that every
// output and the incremental state can be written: a local directory
// writable, an object store's credentials found and a probe object
// written and deleted (once per bucket). A failure is a usage error:
// exit 2, nothing sent.
func probeDestinations(ctx context.Context, s Settings, specs []*outSpec, queries []string, date, run string) error {
	type probe struct{ flag, target string }
	var probes []probe
	for _, sp := range specs {
		if sp.stdout {
			continue
		}
		for _, q := range sp.queriesOf(queries) {
			probes = append(probes, probe{"--out " + sp.tmpl, expand(sp.tmpl, q, date, run, 0, sp.method)})
		}
	}
	if s.Incremental != "" {
		probes = append(probes, probe{"--incremental", s.Incremental})
	}
	if s.Manifest != "" {
		probes = append(probes, probe{"--manifest", s.manifestPath(date, run)})
	}
	seen := map[string]bool{}
	var bad []string
	for _, p := range probes {
		where := parentOf(p.target)
		if dest.IsURL(p.target) {
			if _, ok := dest.LocalPath(p.target); !ok {
				// One probe a bucket: its credentials and permissions.
				base, _ := splitURLQuery(p.target)
				rest := base[strings.Index(base, "://")+3:]
				where = base[:strings.Index(base, "://")+3] + strings.SplitN(rest, "/", 2)[0]
			}
		}
		if seen[where] {
			continue
		}
		seen[where] = true
		if err := dest.Probe(ctx, p.target, s.s3()); err != nil {
			if ctx.Err() != nil {
				return err
			}
			bad = append(bad, fmt.Sprintf("%s: %v", p.flag, err))
		}
	}
	if len(bad) > 0 {
		// Every destination that cannot be written, not only the first.
		return usagef("%s", problems(fmt.Sprintf("%d destinations cannot be written", len(bad)), bad))
	}
	return nil
}
