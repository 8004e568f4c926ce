package dest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/dest"
)

func TestLockPathIsExclusiveAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "r.csv")
	l, err := dest.LockPath(path)
	require.NoError(t, err)
	_, err = os.Stat(dest.LockFile(path))
	require.NoError(t, err, "the lock file is beside the path")

	_, err = dest.LockPath(path)
	require.ErrorIs(t, err, dest.ErrLocked, "a second holder is refused")

	require.NoError(t, l.Unlock())
	require.NoError(t, l.Unlock(), "a second Unlock does nothing")
	_, err = os.Stat(filepath.Join(dir, "sub"))
	assert.ErrorIs(t, err, os.ErrNotExist, "Unlock removes the lock file, and the directory LockPath made as it is empty")

	// A directory that held something, or was there before, stays.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	l2, err := dest.LockPath(path)
	require.NoError(t, err, "free again")
	require.NoError(t, l2.Unlock())
	entries, err := os.ReadDir(filepath.Join(dir, "sub"))
	require.NoError(t, err)
	assert.Empty(t, entries, "Unlock removes the lock file")

	deep := filepath.Join(dir, "a", "b", "r.csv")
	l3, err := dest.LockPath(deep)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(deep, []byte("x"), 0o644))
	require.NoError(t, l3.Unlock())
	_, err = os.Stat(deep)
	require.NoError(t, err, "a directory holding the run's output stays")
}

func TestRemoveTempsRemovesOnlyThePathsTemps(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{".r.csv.tmp-1", ".r.csv.tmp-2", "r.csv", ".other.csv.tmp-1",
		".part-00000.csv.tmp-9", ".part-00001.csv.tmp-8", "part-00000.csv", ".a[1].csv.tmp-3", ".a1.csv.tmp-3"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), nil, 0o644))
	}
	assert.Equal(t, 2, dest.RemoveTemps(filepath.Join(dir, "r.csv"), ""))
	assert.Equal(t, 2, dest.RemoveTemps(filepath.Join(dir, "part-{part}.csv"), "{part}"))
	assert.Equal(t, 1, dest.RemoveTemps(filepath.Join(dir, "a[1].csv"), ""), "glob characters in a name are literal")
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	assert.ElementsMatch(t, []string{"r.csv", ".other.csv.tmp-1", "part-00000.csv", ".a1.csv.tmp-3"}, left)
}
