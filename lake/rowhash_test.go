package lake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestIncrementalRowHashIsTheOldOne: the boundary hashes an incremental
// state holds for new-backlinks rows are the ones earlier versions wrote
// (sha256 of the row's encoding/json object), so a state written before
// the engine was generic still drops the rows it had; rows of other
// methods hash their lists and unknown keys too.
func TestIncrementalRowHashIsTheOldOne(t *testing.T) {
	old := func(b serpstattest.Backlink) string {
		js, _ := json.Marshal(b)
		sum := sha256.Sum256(js)
		return hex.EncodeToString(sum[:12])
	}
	for _, b := range []serpstattest.Backlink{
		{URLFrom: "https://a.example/<&>", URLTo: "https://b.example/\u2028x", Nofollow: "nofollow,ugc", LinkType: "href", LinksExt: 92,
			LinkText: "a \"q\" кириллица", FirstSeen: "2023-07-02", LastVisited: "2024-11-23 21:32:02", DomainRank: 25},
		{URLTo: "u", Null: 1<<serpstattest.ColLinksExt | 1<<serpstattest.ColDomainRank | 1<<serpstattest.ColURLFrom},
	} {
		v := []serpstat.Value{
			{Str: b.URLFrom}, {Str: b.URLTo}, {Str: b.Nofollow}, {Str: b.LinkType}, {Int: int64(b.LinksExt)},
			{Str: b.LinkText}, {Str: b.FirstSeen}, {Str: b.LastVisited}, {Int: int64(b.DomainRank)},
		}
		for c := range v {
			if b.Null.Has(c) {
				v[c] = serpstat.Value{Null: true}
			}
		}
		r := serpstat.Row{Values: v, Extra: json.RawMessage(`{"new_field":1}`)}
		assert.Equal(t, old(b), rowHash(backlinks.NewBacklinks, &r), "new-backlinks ignores unknown keys, as before")
	}
	a := serpstat.Row{Values: []serpstat.Value{{Str: "d"}, {Str: "l"}, {Int: 1}, {List: []string{"windows"}}, {List: []string{"MALWARE"}}, {Str: "2024-01-01"}}}
	b := a
	b.Values = append([]serpstat.Value(nil), a.Values...)
	b.Values[3] = serpstat.Value{List: []string{"linux"}}
	assert.NotEqual(t, rowHash(backlinks.Threats, &a), rowHash(backlinks.Threats, &b))
	c := a
	c.Extra = json.RawMessage(`{"x":1}`)
	assert.NotEqual(t, rowHash(backlinks.Threats, &a), rowHash(backlinks.Threats, &c))
}
