package sink

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

func TestCSVGolden(t *testing.T) {
	for _, c := range []struct {
		name       string
		neutralize bool
	}{
		{"awkward.csv", false},
		{"awkward-neutralized.csv", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewCSV(&buf, nb)
			w.Neutralize = c.neutralize
			require.NoError(t, w.Write(backlinkRows(awkwardRows)))
			require.NoError(t, w.Close())
			golden(t, c.name, buf.Bytes())
		})
	}
}

func TestCSVHeaderOnly(t *testing.T) {
	var buf bytes.Buffer
	w := NewCSV(&buf, nb)
	require.NoError(t, w.Close())
	require.Equal(t, "url_from,url_to,nofollow,link_type,links_ext,link_text,first_seen,last_visited,domain_rank\n", buf.String())
}

func TestCSVNeutralize(t *testing.T) {
	for _, c := range []struct {
		in   string
		off  string
		on   string
		desc string
	}{
		{"=1+1", "=1+1", "'=1+1", "equals"},
		{"+1", "+1", "'+1", "plus"},
		{"-1", "-1", "'-1", "minus"},
		{"@SUM(A1)", "@SUM(A1)", "'@SUM(A1)", "at"},
		{"\tx", "\tx", "'\tx", "tab"},
		{"\rx", "\rx", "'\rx", "carriage return"},
		{"a=b", "a=b", "a=b", "not first"},
		{" =x", " =x", " =x", "space first"},
		{"'=x", "'=x", "'=x", "already quoted"},
		{"", "", "", "empty"},
		{"https://x.test/", "https://x.test/", "https://x.test/", "url"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			row := serpstattest.Backlink{URLFrom: c.in, URLTo: c.in, Nofollow: c.in, LinkType: c.in,
				LinkText: c.in, FirstSeen: c.in, LastVisited: c.in, LinksExt: -3, DomainRank: -4}
			for _, neutralize := range []bool{false, true} {
				var buf bytes.Buffer
				w := NewCSV(&buf, nb)
				w.Neutralize = neutralize
				require.NoError(t, w.Write(backlinkRows([]serpstattest.Backlink{row})))
				require.NoError(t, w.Close())
				recs, err := csv.NewReader(&buf).ReadAll()
				require.NoError(t, err)
				require.Len(t, recs, 2)
				want := c.off
				if neutralize {
					want = c.on
				}
				require.Equal(t, []string{want, want, want, want, "-3", want, want, want, "-4"}, recs[1],
					"neutralize=%t: numbers are never changed", neutralize)
				changed := int64(0)
				if want != c.in {
					changed = 7 // the seven text cells
				}
				require.Equal(t, changed, w.Neutralized(), "the cells the guard changed are counted")
			}
		})
	}
}

func TestCSVBOM(t *testing.T) {
	row := serpstattest.Backlink{URLFrom: "https://пример.рф/", LinkText: "-10% discount"}
	var plain, bom bytes.Buffer
	w := NewCSV(&plain, nb)
	require.NoError(t, w.Write(backlinkRows([]serpstattest.Backlink{row})))
	require.NoError(t, w.Close())
	w = NewCSV(&bom, nb)
	w.BOM = true
	require.NoError(t, w.Write(backlinkRows([]serpstattest.Backlink{row})))
	require.NoError(t, w.Close())
	require.Equal(t, "\xef\xbb\xbf"+plain.String(), bom.String(), "the mark, then the same bytes")

	bom.Reset()
	w = NewCSV(&bom, nb)
	w.BOM = true
	require.NoError(t, w.Close())
	require.Equal(t, "\xef\xbb\xbfurl_from,url_to,nofollow,link_type,links_ext,link_text,first_seen,last_visited,domain_rank\n", bom.String(), "a header-only file too")
}
