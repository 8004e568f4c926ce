package lake

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckCollisions(t *testing.T) {
	dir := t.TempDir()
	at := func(p string) string { return filepath.Join(dir, p) }
	for _, tc := range []struct {
		name    string
		outs    []string
		queries []string
		extra   map[string]string
		want    string // "" for none
	}{
		{"apart", []string{at("{query}.csv"), at("all.csv")}, []string{"t.com", "u.com"}, nil, ""},
		{"template vs literal", []string{at("o/{query}.csv"), at("o/t.com.csv")}, []string{"t.com", "u.com"}, nil,
			"--out " + at("o/{query}.csv") + " (query t.com) and --out " + at("o/t.com.csv") + " both write " + at("o/t.com.csv") + ": give each output a path of its own"},
		{"case only", []string{at("o/{query}.csv"), at("O/T.com.CSV")}, []string{"t.com"}, nil, "both write"},
		{"cleaned paths", []string{at("o/{query}.csv"), dir + "/o/./x//t.com.csv"}, []string{"t.com"}, nil, ""},
		{"cleaned paths collide", []string{at("o/{query}.csv"), dir + "/o/.//t.com.csv"}, []string{"t.com"}, nil, "both write"},
		{"two templates", []string{at("{query}/{date}.csv"), at("{query}/2026-01-02.ndjson")}, []string{"t.com"}, nil, ""},
		{"two templates collide", []string{at("{query}/{date}.csv"), at("{query}/{date}.CSV")}, []string{"t.com"}, nil, "both write"},
		{"date and method", []string{at("{method}/{date}.csv"), at("new-backlinks/2026-01-02.csv")}, []string{"t.com"}, nil, "both write"},
		{"run", []string{at("{run}.csv"), at("r1.csv")}, []string{"t.com"}, nil, "both write"},
		{"part vs literal", []string{at("{query}-{part}.csv"), at("t.com-00007.csv")}, []string{"t.com"}, nil,
			"--out " + at("{query}-{part}.csv") + " (query t.com) and --out " + at("t.com-00007.csv") + " both write " + at("t.com-{part}.csv")},
		{"part vs a longer part", []string{at("{query}-{part}.csv"), at("t.com-123456.csv")}, []string{"t.com"}, nil, "both write"},
		{"part vs not a part", []string{at("{query}-{part}.csv"), at("t.com-0001.csv"), at("t.com-x0001.csv")}, []string{"t.com"}, nil, ""},
		{"two part templates", []string{at("{part}.csv"), at("1{part}.csv")}, []string{"t.com"}, nil, "both write"},
		{"same template, two queries one path", []string{at("{query}.csv")}, []string{"https://a.com/x?y", "https://a.com/x#y"}, nil,
			"--out " + at("{query}.csv") + " writes " + at("https___a.com_x_y.csv") + " for both query https://a.com/x?y and query https://a.com/x#y"},
		{"same template, case", []string{at("{query}.csv")}, []string{"https://a.com/X", "https://a.com/x"}, nil, "for both query"},
		{"URL forms", []string{"s3://lake/x/{query}.csv", "S3://LAKE/x//./t.com.csv"}, []string{"t.com"}, nil,
			"--out s3://lake/x/{query}.csv (query t.com) and --out S3://LAKE/x//./t.com.csv both write s3://lake/x/t.com.csv"},
		{"URL query string ignored", []string{"s3://lake/{query}.csv?region=eu-west-1", "s3://lake/t.com.csv"}, []string{"t.com"}, nil, "both write"},
		{"another endpoint", []string{"s3://lake/{query}.csv?endpoint=http://127.0.0.1:9000", "s3://lake/t.com.csv"}, []string{"t.com"}, nil, ""},
		{"other buckets", []string{"s3://a/{query}.csv", "s3://b/t.com.csv", "gs://a/t.com.csv"}, []string{"t.com"}, nil, ""},
		{"file URL and path", []string{"file://" + at("{query}.csv"), at("t.com.csv")}, []string{"t.com"}, nil, "both write"},
		{"the manifest", []string{at("{query}.ndjson")}, []string{"t.com"}, map[string]string{"--manifest": at("t.com.ndjson")}, "--manifest both write"},
		{"stdout never", []string{"-", at("{query}.csv")}, []string{"t.com"}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			specs, err := parseOuts(tc.outs, "csv", len(tc.queries) > 1, 0, "new-backlinks")
			require.NoError(t, err)
			err = checkCollisions(specs, tc.queries, "2026-01-02", "r1", tc.extra)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var ue *UsageError
			require.True(t, errors.As(err, &ue), "%v", err)
			require.Contains(t, ue.Msg, tc.want)
		})
	}
}

func TestCheckCollisionsNamesEachPairOnce(t *testing.T) {
	specs, err := parseOuts([]string{"o/{query}.csv", "o/a.com.csv", "o/b.com.csv"}, "", true, 0, "new-backlinks")
	require.NoError(t, err)
	err = checkCollisions(specs, []string{"a.com", "b.com", "c.com"}, "2026-01-02", "r1", nil)
	require.EqualError(t, err, "outputs that would overwrite each other:\n"+
		"  --out o/{query}.csv (query a.com) and --out o/a.com.csv both write o/a.com.csv: give each output a path of its own\n"+
		"  --out o/{query}.csv (query b.com) and --out o/b.com.csv both write o/b.com.csv: give each output a path of its own")
}

func TestParseOutsNamesEveryBadOutput(t *testing.T) {
	_, err := parseOuts([]string{"a.csv", "b.{qeury}.csv", "c.xlsx", "ftp://h/x.csv", "s3://Bad Bucket/x.csv", "a.csv", "s3:///x.csv"}, "", false, 0, "new-backlinks")
	var ue *UsageError
	require.True(t, errors.As(err, &ue), "%v", err)
	for _, want := range []string{
		"6 problems with the outputs:",
		"--out b.{qeury}.csv: unknown placeholder {qeury}; use {query}, {date}, {method}, {run} or {part} (did you mean {query}?)",
		"--out c.xlsx:",
		`--out ftp://h/x.csv: output "ftp://h/x.csv": unsupported scheme "ftp"`,
		`--out s3://Bad Bucket/x.csv: output "s3://Bad Bucket/x.csv": not a valid URL`,
		"--out a.csv is given twice",
		`--out s3:///x.csv: output "s3:///x.csv": no bucket`,
	} {
		require.Contains(t, ue.Msg, want)
	}
}
