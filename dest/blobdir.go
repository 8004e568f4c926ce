package dest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// JoinDir returns the object named name under the "directory" dir (a URL
// such as s3://bucket/state, its query string kept as it is): JoinDir(
// "s3://b/state?region=x", "a.json") is "s3://b/state/a.json?region=x".
// For a plain path it is dir/name.
func JoinDir(dir, name string) string {
	if !IsURL(dir) {
		return strings.TrimRight(dir, "/") + "/" + strings.TrimLeft(name, "/")
	}
	rest, query := dir, ""
	if i := strings.IndexByte(dir, '?'); i >= 0 {
		rest, query = dir[:i], dir[i:]
	}
	return strings.TrimRight(rest, "/") + "/" + strings.TrimLeft(name, "/") + query
}

// dirTarget is the bucket and key prefix (ending in "/") of a directory URL.
func dirTarget(dir string) (target, string, error) {
	t, err := parseTarget(JoinDir(dir, "_"))
	if err != nil {
		return t, "", err
	}
	if t.path != "" {
		return t, "", fmt.Errorf("%q is not an object storage URL", dir)
	}
	return t, strings.TrimSuffix(t.key, "_"), nil
}

// ListDir returns the names of the objects under the directory URL dir
// (s3://bucket/prefix, gs://, azblob://), relative to it, at any depth.
func ListDir(ctx context.Context, dir string, opts S3Options) ([]string, error) {
	t, prefix, err := dirTarget(dir)
	if err != nil {
		return nil, err
	}
	b, release, err := openBucket(ctx, t, opts)
	if err != nil {
		return nil, err
	}
	defer release()
	var names []string
	it := b.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", t.name, err)
		}
		if !obj.IsDir {
			names = append(names, strings.TrimPrefix(obj.Key, prefix))
		}
	}
}

// RemoveDir deletes every object under the directory URL dir.
func RemoveDir(ctx context.Context, dir string, opts S3Options) error {
	names, err := ListDir(ctx, dir, opts)
	if err != nil {
		return err
	}
	t, prefix, err := dirTarget(dir)
	if err != nil {
		return err
	}
	b, release, err := openBucket(ctx, t, opts)
	if err != nil {
		return err
	}
	defer release()
	for _, n := range names {
		if err := b.b.Delete(ctx, prefix+n); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("delete %q: %w", JoinDir(dir, n), err)
		}
	}
	return nil
}
