package serpstattest_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestBacklinkIsTheDescriptorsRow: Backlink's fields, its Col constants
// and its Row follow backlinks.NewBacklinks' columns, so that no second
// list of getNewBacklinks' columns can drift from the descriptor.
func TestBacklinkIsTheDescriptorsRow(t *testing.T) {
	m := backlinks.NewBacklinks
	var tags []string
	typ := reflect.TypeFor[serpstattest.Backlink]()
	for i := range typ.NumField() {
		if tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); tag != "-" {
			tags = append(tags, tag)
		}
	}
	assert.Equal(t, m.OutputColumns(), tags, "json tags in column order")

	for name, col := range map[string]int{
		"url_from": serpstattest.ColURLFrom, "url_to": serpstattest.ColURLTo,
		"nofollow": serpstattest.ColNofollow, "link_type": serpstattest.ColLinkType,
		"links_ext": serpstattest.ColLinksExt, "link_text": serpstattest.ColLinkText,
		"first_seen": serpstattest.ColFirstSeen, "last_visited": serpstattest.ColLastVisited,
		"domain_rank": serpstattest.ColDomainRank,
	} {
		assert.Equal(t, m.ColumnIndex(name), col, name)
	}

	// Row is what the descriptor decodes from the same row as JSON.
	b := serpstattest.Row("example.com", 7)
	b.Null = 1<<serpstattest.ColLinkText | 1<<serpstattest.ColDomainRank
	js, err := json.Marshal(map[string]any{
		"url_from": b.URLFrom, "url_to": b.URLTo, "nofollow": b.Nofollow, "link_type": b.LinkType,
		"links_ext": b.LinksExt, "link_text": nil, "first_seen": b.FirstSeen,
		"last_visited": b.LastVisited, "domain_rank": nil,
	})
	require.NoError(t, err)
	page, err := m.DecodeAnswer([]byte(`{"id":"1","result":{"data":[` + string(js) + `],"summary_info":{"total":1}}}`))
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	b.LinkText, b.DomainRank = "", 0
	assert.Equal(t, page.Data[0], b.Row())

	// And UnmarshalJSON reads the same JSON back to b, nulls marked.
	var got serpstattest.Backlink
	require.NoError(t, json.Unmarshal(js, &got))
	assert.Equal(t, b, got)
	assert.Error(t, json.Unmarshal([]byte("null"), &got), "a null row is no row")
}
