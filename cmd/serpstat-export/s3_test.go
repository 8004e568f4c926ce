package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestDataLakeOnS3 runs the nightly load of five domains into a real
// S3-compatible server, then an incremental second run with its state in
// the bucket too. .ci/run starts versitygw and sets the variables below.
func TestDataLakeOnS3(t *testing.T) {
	endpoint, bucket := s3Bucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := dest.S3Options{Endpoint: endpoint, PathStyle: true}

	var grow atomic.Int64
	total := func(q string) int {
		if strings.HasPrefix(q, serpstattest.GrowingPrefix) {
			return int(grow.Load())
		}
		return 11000 + 500*len(q)
	}
	grow.Store(4000)
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: total})
	defer srv.Close()
	dir := t.TempDir()
	domains := []string{"alpha.example", "beta.example", "gamma.example", "delta.example", serpstattest.GrowingPrefix + "example.com"}
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte(strings.Join(domains, "\n")), 0o644))
	prefix := fmt.Sprintf("s3://%s/lake-%d", bucket, time.Now().UnixNano())
	state := prefix + "/state.json"
	run := func() result {
		return runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000",
			"--queries-file", qf, "--out", prefix+"/dt={date}/domain={query}/part-{part}.parquet",
			"--max-rows-per-file", "10000", "--s3-endpoint", endpoint, "--s3-path-style",
			"--incremental", state, "--state-dir", filepath.Join(dir, "state"))
	}
	res := run()
	require.Equal(t, 0, res.code, res.stderr)
	date := time.Now().UTC().Format(time.DateOnly)
	base := prefix + "/dt=" + date

	read := func(target string) []byte {
		t.Helper()
		data, err := dest.ReadAll(ctx, target, opts)
		require.NoError(t, err, target)
		return data
	}
	var m manifestDoc
	require.NoError(t, json.Unmarshal(read(base+"/_manifest.json"), &m), res.stderr)
	read(base + "/_SUCCESS")
	assert.True(t, m.Complete)
	perDomain := map[string]int64{}
	for _, f := range m.Files {
		require.True(t, strings.HasPrefix(f.Path, base+"/domain="+f.Query+"/part-"), f.Path)
		data := read(f.Path)
		sum := sha256.Sum256(data)
		assert.Equal(t, hex.EncodeToString(sum[:]), f.SHA256, f.Path)
		assert.EqualValues(t, len(data), f.Bytes)
		rows, err := parquet.Read[parquetRow](bytes.NewReader(data), int64(len(data)))
		require.NoError(t, err)
		assert.EqualValues(t, len(rows), f.Rows)
		perDomain[f.Query] += f.Rows
	}
	for _, d := range domains {
		assert.EqualValues(t, total(d), perDomain[d], d)
	}
	first := srv.Stats().CreditsBilled

	// New backlinks for the growing domain: the second run pays for them
	// (and the boundary day), and for nothing of the other four but the
	// boundary day of each.
	grow.Store(4000 + 777)
	res = run()
	require.Equal(t, 0, res.code, res.stderr)
	paid := srv.Stats().CreditsBilled - first
	t.Logf("first run %d credits, second %d", first, paid)
	firstRun := m.RunID
	var m2 struct {
		RunID string `json:"run_id"`
		Files []struct {
			manifestFile
			Run string `json:"run"`
		} `json:"files"`
	}
	require.NoError(t, json.Unmarshal(read(base+"/_manifest.json"), &m2))
	var newRows, firstRows int64
	for _, f := range m2.Files {
		// The manifest lists the first run's parts too, still there.
		if f.Run == firstRun {
			firstRows += f.Rows
			read(f.Path)
			continue
		}
		require.Equal(t, m2.RunID, f.Run)
		if f.Query == domains[4] {
			data := read(f.Path)
			rows, err := parquet.Read[parquetRow](bytes.NewReader(data), int64(len(data)))
			require.NoError(t, err)
			require.EqualValues(t, len(rows), f.Rows)
			newRows += f.Rows
		}
	}
	assert.EqualValues(t, 777, newRows, "only the new rows")
	var all int64
	for _, d := range domains {
		all += int64(total(d)) - 777*int64(btoi(d == domains[4]))
	}
	assert.Equal(t, all, firstRows, "the first run's parts are all listed")
	// At most a boundary day a domain: 100 rows for the growing one, and
	// the fake's busiest day for the others.
	assert.Less(t, paid, int64(777+100+4*200))
	var st struct {
		Queries map[string]struct {
			Newest string `json:"newest_first_seen"`
		} `json:"queries"`
	}
	require.NoError(t, json.Unmarshal(read(state), &st))
	assert.Len(t, st.Queries, 5)
	assert.Equal(t, serpstattest.Rows(domains[4], 4777)[4776].FirstSeen, st.Queries[domains[4]].Newest)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
