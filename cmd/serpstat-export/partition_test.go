package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestLakeReRunOnTheSameDayKeepsEveryRun: a scheduled load run twice on
// one date, with new rows in between, neither replaces nor orphans the
// first run's parts, and the manifest lists the parts of both. An
// incremental load adds the new rows; a full load is the same command and
// date run again: its run record says both queries are done, so it reuses
// them, buying and writing nothing (--fresh would export them again).
func TestLakeReRunOnTheSameDayKeepsEveryRun(t *testing.T) {
	growing := serpstattest.GrowingPrefix + "example.com"
	const steady = "steady.example"
	for _, tc := range []struct {
		name        string
		incremental bool
	}{
		{"incremental", true},
		{"full", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var grow atomic.Int64
			grow.Store(2000)
			srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(q string) int {
				if q == growing {
					return int(grow.Load())
				}
				return 1700
			}})
			defer srv.Close()
			dir := t.TempDir()
			lake := filepath.Join(dir, "lake")
			args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--query", growing, "--query", steady,
				"--out", "file://" + lake + "/dt={date}/domain={query}/part-{part}.parquet",
				"--max-rows-per-file", "1500", "--state-dir", filepath.Join(dir, "state")}
			if tc.incremental {
				args = append(args, "--incremental", filepath.Join(dir, "state.json"))
			}
			date := time.Now().UTC().Format(time.DateOnly)
			part := filepath.Join(lake, "dt="+date)

			res := runCLI(t, serpstattest.DefaultToken, args...)
			require.Equal(t, 0, res.code, res.stderr)
			firstRun := readManifest(t, part)
			before := map[string][]byte{}
			for _, f := range firstRun.Files {
				data, err := os.ReadFile(strings.TrimPrefix(f.Path, "file://"))
				require.NoError(t, err)
				before[f.Path] = data
			}
			require.Len(t, before, 4, "1,500 + 500 and 1,500 + 200 rows")

			grow.Store(2300)
			res = runCLI(t, serpstattest.DefaultToken, args...)
			require.Equal(t, 0, res.code, res.stderr)
			m := readManifest(t, part)
			_, err := os.Stat(filepath.Join(part, "_SUCCESS"))
			require.NoError(t, err)

			// The first run's files are all still there, unchanged, and
			// listed with the run that wrote them.
			listed := map[string]manifestFileRun{}
			for _, f := range m.Files {
				listed[f.Path] = f
			}
			for p, data := range before {
				got, err := os.ReadFile(strings.TrimPrefix(p, "file://"))
				require.NoError(t, err, "the first run's %s is still there", p)
				assert.Equal(t, data, got, "%s is not replaced", p)
				require.Contains(t, listed, p, "the manifest still lists %s", p)
				assert.Equal(t, firstRun.RunID, listed[p].Run)
			}
			// Nothing in the partition is left out of the manifest, and
			// each listed file is whole.
			var onDisk []string
			require.NoError(t, filepath.Walk(part, func(p string, info os.FileInfo, err error) error {
				require.NoError(t, err)
				if !info.IsDir() && strings.HasSuffix(p, ".parquet") {
					onDisk = append(onDisk, "file://"+p)
				}
				return nil
			}))
			var inManifest []string
			perQuery := map[string][]serpstattest.Backlink{}
			sort.Slice(m.Files, func(a, b int) bool { return m.Files[a].Path < m.Files[b].Path })
			for _, f := range m.Files {
				inManifest = append(inManifest, f.Path)
				p := strings.TrimPrefix(f.Path, "file://")
				data, err := os.ReadFile(p)
				require.NoError(t, err)
				sum := sha256.Sum256(data)
				assert.Equal(t, hex.EncodeToString(sum[:]), f.SHA256, p)
				rows := readParquet(t, p)
				assert.EqualValues(t, len(rows), f.Rows, p)
				perQuery[f.Query] = append(perQuery[f.Query], rows...)
			}
			assert.ElementsMatch(t, onDisk, inManifest, "the manifest lists every part of the partition")

			// Every row of both runs is in the partition.
			if tc.incremental {
				requireSameSet(t, serpstattest.Rows(growing, 2300), perQuery[growing], growing)
				requireSameSet(t, serpstattest.Rows(steady, 1700), perQuery[steady], steady)
			} else {
				// Reused: each row of the first run once, none bought again.
				assert.Contains(t, res.stderr, "done by an earlier run of this command")
				requireSameSet(t, serpstattest.Rows(growing, 2000), perQuery[growing], growing)
				requireSameSet(t, serpstattest.Rows(steady, 1700), perQuery[steady], steady)
			}
		})
	}
}

type manifestFileRun struct {
	manifestFile
	Run string `json:"run"`
}

type manifestRuns struct {
	RunID string            `json:"run_id"`
	Files []manifestFileRun `json:"files"`
}

func readManifest(t *testing.T, dir string) manifestRuns {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "_manifest.json"))
	require.NoError(t, err)
	var m manifestRuns
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

// requireSameSet checks that got holds the rows of want, each as many
// times, in any order.
func requireSameSet(t *testing.T, want, got []serpstattest.Backlink, what string) {
	t.Helper()
	count := map[serpstattest.Backlink]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	missing, extra := 0, 0
	for _, n := range count {
		if n > 0 {
			missing += n
		} else {
			extra -= n
		}
	}
	require.Len(t, got, len(want), "%s: rows", what)
	require.Zero(t, missing+extra, "%s: %d rows missing, %d extra", what, missing, extra)
}
