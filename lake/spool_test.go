package lake

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
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
		require.Equal(t, tc.want, tc.s.spoolPlace(tc.q), "%+v", tc.s)
	}
}
