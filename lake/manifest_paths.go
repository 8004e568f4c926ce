package lake

import (
	"path/filepath"

	"github.com/serpstat-export/serpstat-export/dest"
)

// pathsManifest is the manifest's "paths": its files' paths are relative
// to the manifest's own directory, or full URLs, so a loader finds them
// wherever the command ran and wherever the lake is mounted.
const pathsManifest = "manifest"

// relativeTo is m as written at target: each local file's path relative
// to target's directory (a URL, object or file://, stays whole).
func (m manifest) relativeTo(target string) manifest {
	if dest.IsURL(target) {
		return m
	}
	out := m
	out.Files = make([]*fileRecord, len(m.Files))
	for i, f := range m.Files {
		c := *f
		c.Path = toManifest(target, f.Path)
		out.Files[i] = &c
	}
	return out
}

// toManifest is the local path p relative to the directory of the local
// manifest target; p as it is when it is a URL or has no relative form.
func toManifest(target, p string) string {
	if dest.IsURL(p) || dest.IsURL(target) {
		return p
	}
	base, err1 := filepath.Abs(filepath.Dir(target))
	abs, err2 := filepath.Abs(p)
	if err1 != nil || err2 != nil {
		return p
	}
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		return p
	}
	return filepath.ToSlash(rel)
}

// fromManifest is the path p of a manifest at target (relative to its
// directory) as the command names it: joined to the manifest's directory.
func fromManifest(target, p string) string {
	if dest.IsURL(p) || dest.IsURL(target) || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(target), filepath.FromSlash(p))
}
