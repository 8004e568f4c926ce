package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// readBacklinks reads an NDJSON output of new-backlinks.
func readBacklinks(t *testing.T, path string) []serpstattest.Backlink {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var rows []serpstattest.Backlink
	for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r serpstattest.Backlink
		require.NoError(t, json.Unmarshal(line, &r))
		rows = append(rows, r)
	}
	return rows
}

// TestBudgetPropertyNeverOverspends: 25 rows in pages of 10: 3 pages, 25
// credits. Every budget from 1 to 35, with and without Partial, with
// several worker counts: the credits billed never exceed the budget; a
// budget the export fits in exports it all; with Partial the whole pages
// that fit are exported, and the run says it is partial; without it, the
// run stops after page 1 (cut to the budget when that is smaller) with
// pager.ErrBudgetExhausted. (The binary's exit codes and messages for it:
// TestBudgetPropertyNeverOverspends in cmd/serpstat-export.)
func TestBudgetPropertyNeverOverspends(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 25})
	defer srv.Close()
	dir := t.TempDir()
	ctx := context.Background()
	for budget := 1; budget <= 35; budget++ {
		for _, workers := range []int{1, 3, 8} {
			for _, partial := range []bool{false, true} {
				name := fmt.Sprintf("budget %d workers %d partial %v", budget, workers, partial)
				before := srv.Stats().CreditsBilled
				out := filepath.Join(dir, fmt.Sprintf("b%d-%d-%v.ndjson", budget, workers, partial))
				r := newRunSize(t, srv, Settings{Queries: []string{"property.example"}, Out: []string{out}, Workers: workers, Partial: partial},
					int64(budget), 10)
				res, err := r.Export(ctx)
				billed := srv.Stats().CreditsBilled - before
				require.LessOrEqual(t, billed, int64(budget), name)
				switch {
				case budget >= 25:
					require.NoError(t, err, name)
					require.EqualValues(t, 25, billed, name)
					require.Len(t, readBacklinks(t, out), 25, name)
				case partial:
					require.NoError(t, err, name)
					want := min(budget, 10)
					if budget >= 10 {
						want = budget / 10 * 10
					}
					require.EqualValues(t, want, billed, name)
					require.Equal(t, serpstattest.Rows("property.example", want), readBacklinks(t, out), name)
					require.True(t, res.Report().Partial, name)
					var text strings.Builder
					NewSummary("run1", "export", "done", 0, res, nil, time.Second).WriteText(&text)
					require.Contains(t, text.String(), "partial (as --partial asked)", name)
				default:
					require.True(t, errors.Is(err, pager.ErrBudgetExhausted), "%s: %v", name, err)
					require.EqualValues(t, min(budget, 10), billed, name)
					require.NoFileExists(t, out, name)
				}
			}
		}
	}
}
