package lake

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every output of a query is committed, or none: a rename that fails
// after another output was committed rolls that one back, and no
// temporary file stays.
func TestCommitAllIsAllOrNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		blockB  bool // b.csv is a non-empty directory: its rename fails
		wantErr string
		want    []string
	}{
		{"both", false, "", []string{"a.csv", "b.csv"}},
		{"b fails", true, "rolled back", []string{"b.csv"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.blockB {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "b.csv", "x"), 0o755))
			}
			specs, err := parseOuts([]string{filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")}, "", false, 0, DefaultMethod)
			require.NoError(t, err)
			var outs []*output
			for _, sp := range specs {
				outs = append(outs, &output{spec: sp, ctx: context.Background(), date: "2026-01-31", run: "r1"})
			}
			err = commitAll(context.Background(), outs)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				for _, o := range outs {
					require.Len(t, o.written(), 1)
					require.Equal(t, int64(0), o.written()[0].Rows)
					require.NotEmpty(t, o.written()[0].SHA256)
				}
			}
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			require.Equal(t, tc.want, names, "no temporary file stays")
		})
	}
}

// A second run on the same local outputs is refused before it touches
// anything; once the first releases its locks, it may run.
func TestLockOutputsRefusesASecondRun(t *testing.T) {
	dir := t.TempDir()
	specs, err := parseOuts([]string{filepath.Join(dir, "{query}", "part-{part}.csv")}, "", true, 10, DefaultMethod)
	require.NoError(t, err)
	queries := []string{"a.example", "b.example"}
	first, err := lockOutputs(specs, queries, "2026-01-31", "r1")
	require.NoError(t, err)
	require.Len(t, first, 2, "one lock a query, for all its parts")
	_, err = lockOutputs(specs, queries[1:], "2026-01-31", "r2")
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	require.ErrorContains(t, err, "wait for that run to end")
	first.release()
	second, err := lockOutputs(specs, queries, "2026-01-31", "r2")
	require.NoError(t, err)
	second.release()
}
