package dest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFile(t *testing.T) {
	for _, c := range []struct {
		name    string
		finish  func(f *File, path string) error
		wantDir []string // names left in the directory
		wantIn  string   // file that must hold the content
	}{
		{
			name:    "commit",
			finish:  func(f *File, _ string) error { return f.Commit() },
			wantDir: []string{"out.csv"},
			wantIn:  "out.csv",
		},
		{
			name:    "commit as partial",
			finish:  func(f *File, path string) error { return f.CommitAs(path + ".partial") },
			wantDir: []string{"out.csv.partial"},
			wantIn:  "out.csv.partial",
		},
		{
			name:    "abort",
			finish:  func(f *File, _ string) error { return f.Abort() },
			wantDir: []string{},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.csv")
			f, err := Create(path)
			require.NoError(t, err)
			require.Equal(t, path, f.Name())

			// Before the end only the temporary file exists.
			names := dirNames(t, dir)
			require.Len(t, names, 1)
			require.True(t, strings.HasPrefix(names[0], ".out.csv.tmp-"), names[0])
			fi, err := os.Stat(filepath.Join(dir, names[0]))
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

			_, err = f.Write([]byte("hello\n"))
			require.NoError(t, err)
			require.NoError(t, c.finish(f, path))
			require.Equal(t, c.wantDir, dirNames(t, dir))
			if c.wantIn != "" {
				b, err := os.ReadFile(filepath.Join(dir, c.wantIn))
				require.NoError(t, err)
				require.Equal(t, "hello\n", string(b))
				require.Equal(t, filepath.Join(dir, c.wantIn), f.Name())
			}

			// Abort after the end does nothing; writing fails.
			require.NoError(t, f.Abort())
			require.Equal(t, c.wantDir, dirNames(t, dir))
			_, err = f.Write([]byte("late"))
			require.ErrorIs(t, err, os.ErrClosed)
			require.ErrorIs(t, f.Commit(), os.ErrClosed)
		})
	}
}

func TestFileReplacesDestination(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.ndjson")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o644))
	f, err := Create(path)
	require.NoError(t, err)
	defer f.Abort()
	_, err = f.Write([]byte("new\n"))
	require.NoError(t, err)

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "old\n", string(b), "untouched until Commit")

	require.NoError(t, f.Commit())
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "new\n", string(b))
	require.Equal(t, []string{"out.ndjson"}, dirNames(t, dir))
}

func TestCreateMakesMissingDir(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "a", "b", "out.parquet")
	f, err := Create(path)
	require.NoError(t, err)
	require.NoError(t, f.Commit())
	fi, err := os.Stat(filepath.Join(root, "a", "b"))
	require.NoError(t, err)
	require.True(t, fi.IsDir())
	require.Zero(t, fi.Mode().Perm()&^0o755, "made with 0755 (less the umask)")
	require.Equal(t, []string{"out.parquet"}, dirNames(t, filepath.Join(root, "a", "b")))
}

func TestCreateRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	f, err := Create("out.csv")
	require.NoError(t, err)
	require.NoError(t, f.Commit())
	require.Equal(t, []string{"out.csv"}, dirNames(t, "."))
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{
		dir + string(filepath.Separator),                // no file name
		filepath.Join(dir, "file", "out.csv"),           // parent is a file
		filepath.Join(dir, "missing\x00dir", "out.csv"), // invalid name
	} {
		t.Run(path, func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "file"), nil, 0o644))
			_, err := Create(path)
			require.Error(t, err)
		})
	}
	names := dirNames(t, dir)
	require.Equal(t, []string{"file"}, names, "no temporary file left behind")
}

func TestCommitError(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "out.csv"))
	require.NoError(t, err)
	// Renaming onto a non-empty directory fails: the temporary file stays
	// until Abort removes it.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "busy", "x"), 0o755))
	require.Error(t, f.CommitAs(filepath.Join(dir, "busy")))
	require.Len(t, dirNames(t, dir), 2)
	require.NoError(t, f.Abort())
	require.Equal(t, []string{"busy"}, dirNames(t, dir))
}
