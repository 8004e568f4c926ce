package lake

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/serpstat-export/serpstat-export/dest"
)

// partMark stands for {part} in a rendered path: any part number.
const partMark = "\x00"

// maxCollisions is how many collisions a report names; the rest are
// counted.
const maxCollisions = 20

// target is one path or URL the run may write, and who writes it.
type target struct {
	flag  string // "--out o/{query}.csv", "--manifest", "--incremental"
	query string // the query it was rendered for; "" for a shared output
	shown string // the path or URL as rendered, {part} for any part
	key   string // what it is compared by (collisionKey)
	// parts is key split at each {part}: nil for a key without one.
	parts []string
}

func (t *target) owner() string { return t.flag + "\x00" + t.query }

func (t *target) String() string {
	if t.query != "" && strings.HasPrefix(t.flag, "--out") && strings.Contains(t.flag, "{query}") {
		return fmt.Sprintf("%s (query %s)", t.flag, t.query)
	}
	return t.flag
}

// checkCollisions renders every output template for every query (with
// the run's date, method and id, {part} standing for any part number)
// and refuses, before anything is sent, two outputs that can write the
// same file or object: they would overwrite each other. Local paths are
// compared cleaned, absolute and without case (a case-insensitive disk
// holds A.csv and a.csv as one file); URLs by scheme, bucket and cleaned
// key (and endpoint), without case in the scheme and bucket. extra are
// other files the run writes (--manifest, --incremental), by flag.
func checkCollisions(specs []*outSpec, queries []string, date, run string, extra map[string]string) error {
	cwd, _ := os.Getwd() // once: filepath.Abs asks for it every time
	var ts []*target
	for _, sp := range specs {
		if sp.stdout {
			continue
		}
		qs := []string{""}
		if sp.perQuery {
			qs = queries
		}
		for _, q := range qs {
			shown := expand(strings.ReplaceAll(sp.tmpl, "{part}", partMark), q, date, run, 0, sp.method)
			ts = append(ts, newTarget("--out "+sp.tmpl, q, shown, cwd))
		}
	}
	for _, flag := range sortedKeys(extra) {
		ts = append(ts, newTarget(flag, "", extra[flag], cwd))
	}
	var found []string
	reported := map[string]bool{}
	report := func(a, b *target) {
		pair := a.owner() + "\x01" + b.owner()
		if a.owner() > b.owner() {
			pair = b.owner() + "\x01" + a.owner()
		}
		if reported[pair] {
			return
		}
		reported[pair] = true
		at := strings.ReplaceAll(a.shown, partMark, "{part}")
		switch {
		case a.flag == b.flag:
			found = append(found, fmt.Sprintf("%s writes %s for both query %s and query %s (their names differ only in case or in characters a path cannot hold): export one of them in another run", a.flag, at, a.query, b.query))
		default:
			found = append(found, fmt.Sprintf("%s and %s both write %s: give each output a path of its own", a, b, at))
		}
	}
	// The same key.
	byKey := map[string]*target{}
	for _, t := range ts {
		if o, ok := byKey[t.key]; ok && o.owner() != t.owner() {
			report(o, t)
			continue
		}
		byKey[t.key] = t
	}
	// A {part} template against every path it can render to: the other
	// outputs' paths, and the first parts of the other templates.
	type sample struct {
		key string
		t   *target
	}
	var samples []sample
	var patterns []*target
	for _, t := range ts {
		if t.parts == nil {
			samples = append(samples, sample{t.key, t})
			continue
		}
		patterns = append(patterns, t)
		for part := range 3 {
			samples = append(samples, sample{strings.ReplaceAll(t.key, partMark, fmt.Sprintf("%05d", part)), t})
		}
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i].key < samples[j].key })
	for _, p := range patterns {
		prefix, _, _ := strings.Cut(p.key, partMark)
		i := sort.Search(len(samples), func(i int) bool { return samples[i].key >= prefix })
		for ; i < len(samples) && strings.HasPrefix(samples[i].key, prefix); i++ {
			s := samples[i]
			if s.t.owner() != p.owner() && matchParts(p.parts, s.key) {
				report(p, s.t)
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	sort.Strings(found)
	more := ""
	if len(found) > maxCollisions {
		more = fmt.Sprintf("\n  ... and %d more", len(found)-maxCollisions)
		found = found[:maxCollisions]
	}
	return usagef("%s%s", problems("outputs that would overwrite each other", found), more)
}

func newTarget(flag, query, shown, cwd string) *target {
	t := &target{flag: flag, query: query, shown: shown, key: collisionKey(shown, cwd)}
	if strings.Contains(t.key, partMark) {
		t.parts = strings.Split(t.key, partMark)
	}
	return t
}

// matchParts tells whether s is parts joined by part numbers (5 digits
// or more each, as {part} is written).
func matchParts(parts []string, s string) bool {
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	if len(parts) == 1 {
		return s == ""
	}
	digits := 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	for n := digits; n >= 5; n-- {
		if matchParts(parts[1:], s[n:]) {
			return true
		}
	}
	return false
}

// collisionKey is what two targets that are one file or object share: a
// local path cleaned, absolute and in lower case; a URL's scheme, bucket
// (both in lower case), cleaned key and endpoint. cwd is the working
// directory a relative path is in.
func collisionKey(s, cwd string) string {
	if p, ok := dest.LocalPath(s); ok {
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		return "file:" + strings.ToLower(filepath.Clean(p))
	}
	if !dest.IsURL(s) {
		return "raw:" + s
	}
	u, err := url.Parse(strings.ReplaceAll(s, partMark, "{part}")) // no control characters in a URL
	if err != nil {
		return "raw:" + s
	}
	k := strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + path.Clean("/"+u.Path)
	if ep := u.Query().Get("endpoint"); ep != "" {
		k += "?endpoint=" + strings.ToLower(strings.TrimRight(ep, "/"))
	}
	return strings.ReplaceAll(k, "{part}", partMark)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
