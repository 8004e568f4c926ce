package lake

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// TestSpoolPlace: where a query's checkpoint lives. Several queries into
// one plain file each have their own, beside it (they used to share
// .FILE.spool, and the second query was refused as another export's).
func TestSpoolPlace(t *testing.T) {
	for _, tc := range []struct {
		s    Settings
		q    string
		want string
	}{
		{Settings{Queries: []string{"a.com"}, Out: []string{"out/x.csv"}}, "a.com", filepath.Join("out", ".x.csv.spool")},
		{Settings{Queries: []string{"a.com", "b.com"}, ManyQueries: true, Out: []string{"out/x.csv"}}, "b.com", filepath.Join("out", ".x.csv.spools", "b.com.spool")},
		{Settings{Queries: []string{"a.com", "b.com"}, Out: []string{"{query}.csv"}}, "a.com", filepath.Join(".serpstat-export-state", "a.com.spool")},
		{Settings{Queries: []string{"a.com"}, Out: []string{"x.csv"}, StateDir: "st"}, "a.com", "st"},
		{Settings{Queries: []string{"a.com", "b.com"}, Out: []string{"x.csv"}, StateDir: "st"}, "b.com", filepath.Join("st", "b.com.spool")},
	} {
		require.Equal(t, tc.want, tc.s.spoolPlace(tc.q, SpoolKey{}), "%+v", tc.s)
	}
}

// TestStdoutSpoolIsNamedByTheExport: an export to stdout leaves nothing
// that blocks an export of the same query with other settings: each has
// its own spool, named by a hash of what decides its rows.
func TestStdoutSpoolIsNamedByTheExport(t *testing.T) {
	s := Settings{Queries: []string{"a.com"}, Out: []string{"-"}}
	a := SpoolKey{Method: "m", Params: serpstat.Params{Query: "a.com", Size: 1000}}
	b := a
	b.MaxRows = 100
	pa, pb := s.spoolPlace("a.com", a), s.spoolPlace("a.com", b)
	require.NotEqual(t, pa, pb)
	require.Equal(t, pa, s.spoolPlace("a.com", a), "the same export finds its spool again")
	require.Regexp(t, `^\.serpstat-export-state[/\\]a\.com-[0-9a-f]{16}\.spool$`, pa)
	// With --state-dir, or another output, the place is the user's.
	s.StateDir = "st"
	require.Equal(t, "st", s.spoolPlace("a.com", a))
}

// TestDamagedJournalNamesItsRealPlace: a damaged journal is named where
// it lives, a path or the object's URL (its password redacted), with the
// repair that keeps the record of spend, never "delete it".
func TestDamagedJournalNamesItsRealPlace(t *testing.T) {
	remote := &spool{place: "s3://user:secret@lake/state/a.com.spool", blob: dest.NewBlobStore("s3://lake/state/a.com.spool", dest.S3Options{})}
	local := &spool{place: filepath.Join("out", ".x.csv.spool")}
	for _, tc := range []struct {
		sp   *spool
		want string
	}{
		{remote, "s3://user:xxxxx@lake/state/a.com.spool/credits.json"},
		{local, filepath.Join("out", ".x.csv.spool", "credits.json")},
	} {
		at := tc.sp.file("credits.json")
		require.Equal(t, tc.want, at)
		err := damagedJournal(at, &exporter.DamagedJournalError{File: "credits.json", Err: errors.New("unexpected end of JSON input")})
		var ue *UsageError
		require.ErrorAs(t, err, &ue)
		require.Contains(t, err.Error(), "the spool's journal "+tc.want+" is damaged")
		require.Contains(t, err.Error(), "--repair-spool")
		require.Contains(t, err.Error(), tc.want+".damaged")
		require.NotContains(t, err.Error(), "delete it")
		require.NotContains(t, err.Error(), "secret")
	}
}
