package lake

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/dest"
)

// partWild stands for {part} in the path locked for a templated output:
// one lock covers every part of it.
const partWild = "{part}"

// outputLocks are the locks of a run's local outputs.
type outputLocks []*dest.PathLock

// lockTarget is what the output sp of query q is locked as: its template
// filled in but for {part}, which stays: one lock covers every part.
func (sp *outSpec) lockTarget(q, date, run string) string {
	return strings.ReplaceAll(expand(strings.ReplaceAll(sp.tmpl, partWild, "\x00"), q, date, run, 0, sp.method), "\x00", partWild)
}

// lockOutputs takes the lock of every local output path the run will
// write (one per --out and query; a {part} template locks all its parts
// at once) before anything is touched, so that two runs never write the
// same path whatever their queries: the second is refused (exit 2) before
// it removes or sends anything. Holding the locks, it removes the
// temporary files killed runs left at those paths: no live run writes
// them. Objects in object storage are locked through the coordinator
// (lockShared).
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
			path, ok := dest.LocalPath(sp.lockTarget(q, date, run))
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

// sharedLock is a lock a run takes through the coordinator (Run.Lock)
// for its whole life, on what it shares with runs on other hosts.
type sharedLock struct {
	// name is the lock's name: what it protects ("state-dir:" or
	// "object:") and where, the same for every spelling of that place
	// (dest.Place), and nothing else: not the query, not the other
	// outputs.
	name string
	// setting, verb and what say what a refused run was refused:
	// "--out TMPL: another run (host:pid) is writing TARGET".
	setting, verb, what string
}

// sharedLocks are the locks a run takes through the coordinator before
// it sends or removes anything: its state dir on object storage (the
// spools of all its queries and the run record) by the state dir's own
// name; every output on object storage whatever the query (a {query}
// template once per query, a {part} template once for all its parts, as
// lockOutputs locks local paths); the manifest manifestAt and the
// incremental state when they are objects. Local paths have file locks
// of their own (lockOutputs, the spool's, the run record's).
func sharedLocks(s Settings, specs []*outSpec, queries []string, date, run, manifestAt string) ([]sharedLock, error) {
	var locks []sharedLock
	seen := map[string]bool{}
	add := func(l sharedLock) {
		if !seen[l.name] {
			seen[l.name] = true
			locks = append(locks, l)
		}
	}
	if s.RemoteState() {
		place, err := dest.PlaceDir(s.StateDir, s.S3)
		if err != nil {
			return nil, usagef("--state-dir %s: %v", RedactURL(s.StateDir), err)
		}
		add(sharedLock{name: "state-dir:" + place, setting: "--state-dir", verb: "using", what: "the state dir " + shown(s.StateDir)})
	}
	// object adds the lock of target, an object or not, which the setting
	// flag names as given (a template, or target itself).
	object := func(target, flag, given, verb string) error {
		setting := strings.TrimSpace(flag + " " + shown(given))
		place, ok, err := dest.Place(target, s.S3)
		if err != nil {
			return usagef("%s: %v", setting, err)
		}
		if ok {
			what := shown(target)
			if target == given {
				what = "it"
			}
			add(sharedLock{name: "object:" + place, setting: setting, verb: verb, what: what})
		}
		return nil
	}
	for _, sp := range specs {
		if sp.stdout {
			continue
		}
		for _, q := range sp.queriesOf(queries) {
			if err := object(sp.lockTarget(q, date, run), "--out", sp.tmpl, "writing"); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case s.Manifest != "":
		if err := object(manifestAt, "--manifest", s.Manifest, "writing"); err != nil {
			return nil, err
		}
	case manifestAt != "":
		if err := object(manifestAt, "the manifest", "", "writing"); err != nil {
			return nil, err
		}
	}
	if s.Incremental != "" {
		if err := object(s.Incremental, "--incremental", s.Incremental, "using"); err != nil {
			return nil, err
		}
	}
	return locks, nil
}

// shown is a setting's URL as given, but for a password (RedactURL
// would also escape a template's braces).
func shown(s string) string {
	if u, err := url.Parse(s); err == nil && u.User == nil {
		return s
	}
	return RedactURL(s)
}

// lockShared takes the run's sharedLocks through Run.Lock, before
// anything is sent or removed; they are held until the coordinator is
// closed. Another run holding one is a UsageError naming the place and
// the holder (exit 2), nothing sent. The queries of one run share its
// locks (the coordinator's locks are its process's). Without a
// coordinator, objects cannot be locked: it says so once, at info level.
func (r *Run) lockShared(ctx context.Context, specs []*outSpec, queries []string, date, manifestAt string) error {
	s := r.Settings
	locks, err := sharedLocks(s, specs, queries, date, s.RunID, manifestAt)
	if err != nil || len(locks) == 0 {
		return err
	}
	if r.Lock == nil {
		r.logger().Info("objects on object storage are not locked without a coordinator: another run writing the same objects at the same time would overwrite them (--coordinator locks them)")
		return nil
	}
	for _, l := range locks {
		err := r.Lock(ctx, l.name)
		var le *coord.LockedError
		switch {
		case errors.As(err, &le):
			return usagef("%s: another run (%s) is %s %s: wait for that run to end", l.setting, le.Run(), l.verb, l.what)
		case errors.Is(err, coord.ErrLocked):
			return usagef("%s: %v: it is %s %s: wait for that run to end", l.setting, err, l.verb, l.what)
		case err != nil:
			return err
		}
	}
	return nil
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
