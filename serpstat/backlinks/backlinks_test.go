package backlinks_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// TestDescriptorsAreConsistent checks what every engine part relies on:
// fourteen paged and seven not paged distinct methods, snake_case column
// names, no wire key filling two columns, filter, slice and cursor
// fields that exist, and nothing of paging on a method that is not paged.
func TestDescriptorsAreConsistent(t *testing.T) {
	require.Len(t, backlinks.Methods, 14)
	require.Len(t, backlinks.NotPaged, 7)
	require.Len(t, backlinks.All, 21)
	names := map[string]bool{}
	for i, m := range backlinks.All {
		t.Run(m.Name, func(t *testing.T) {
			require.False(t, names[m.Name], "method named twice")
			names[m.Name] = true
			require.Same(t, m, backlinks.Lookup(m.Name))
			require.Same(t, m, backlinks.Lookup(m.API))
			keys := map[string]string{}
			cols := map[string]bool{}
			for _, c := range m.Columns {
				require.Regexp(t, `^[a-z][a-z0-9_]*$`, c.Name)
				require.NotEqual(t, serpstat.ExtraColumn, c.Name)
				require.False(t, cols[c.Name], "column %s twice", c.Name)
				cols[c.Name] = true
				require.NotZero(t, c.Kind)
				require.NotEmpty(t, c.Keys)
				for _, k := range c.Keys {
					require.Empty(t, keys[k], "key %s fills %s and %s", k, keys[k], c.Name)
					keys[k] = c.Name
				}
			}
			for _, f := range m.Filters {
				if f.Column != "" {
					require.True(t, cols[f.Column], "filter %s tests unknown column %s", f.Name, f.Column)
				}
			}
			for _, s := range m.Slices {
				f := m.Filter(s)
				require.NotNil(t, f, "slice field %s is not a filter", s)
				require.True(t, f.Kind == serpstat.KindDate || f.Kind == serpstat.KindInt || f.Values != nil, "slice field %s is neither a range nor an enumeration", s)
			}
			if m.Cursor != nil {
				require.NotNil(t, m.Filter(m.Cursor.Filter))
				require.Equal(t, serpstat.KindDate, m.Filter(m.Cursor.Filter).Kind)
				require.Equal(t, serpstat.KindDate, m.Columns[m.ColumnIndex(m.Cursor.Column)].Kind)
			}
			if m.DefaultSort != "" {
				require.Contains(t, m.Sorts, m.DefaultSort)
			}
			if m.AppendSort != "" {
				require.Contains(t, m.Sorts, m.AppendSort)
			}
			_, err := json.Marshal(m)
			require.NoError(t, err)
			require.Equal(t, i >= len(backlinks.Methods), !m.Paged(), "paged methods first")
			if !m.Paged() {
				require.Empty(t, m.Sorts)
				require.Empty(t, m.Filters)
				require.Empty(t, m.Slices)
				require.Nil(t, m.Cursor)
				require.False(t, m.LinkPerDomain)
				require.True(t, m.Extra, "unknown keys go to extra")
				require.True(t, m.Billing.PerRequest > 0 || m.NotPaged.MaxRows != nil, "a price known before asking")
			} else {
				require.Zero(t, m.Billing, "paged: a credit a row")
			}
		})
	}
}

func TestSnakeNamesFromWireKeys(t *testing.T) {
	for key, want := range map[string]string{
		"domainRank": "domain_rank", "urlTo": "url_to", "Domain Rank": "domain_rank",
		"refDomains": "ref_domains", "noFollow": "no_follow", "url_from": "url_from", "SDR": "sdr", "Domain": "domain",
	} {
		require.Equal(t, want, serpstat.Snake(key), key)
	}
	// Every column's name is its first wire key in snake_case, unless an
	// alias or a schema typo is documented beside it.
	for _, m := range backlinks.All {
		for _, c := range m.Columns {
			if c.KeyPrefix != "" || c.Name == "domain_to" || c.Name == "sdr" {
				continue
			}
			require.Contains(t, snakeAll(c.Keys), c.Name, "%s.%s", m.Name, c.Name)
		}
	}
}

func snakeAll(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = serpstat.Snake(k)
	}
	return out
}
