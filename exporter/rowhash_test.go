package exporter

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// TestRowHashCoversEveryField: rows that differ in any one field, the
// null marks included, hash apart; a field the hash left out would make
// the duplicate check drop a row that is not a duplicate.
func TestRowHashCoversEveryField(t *testing.T) {
	base := serpstat.Backlink{URLFrom: "a", URLTo: "b", Nofollow: "follow", LinkType: "href", LinksExt: 3,
		LinkText: "t", FirstSeen: "2024-01-02", LastVisited: "2024-01-03 04:05:06", DomainRank: 7}
	assert.Equal(t, rowHash(&base), rowHash(new(base)), "equal rows hash alike")
	v := reflect.ValueOf(base)
	for i := range v.NumField() {
		r := base
		f := reflect.ValueOf(&r).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Uint16:
			f.SetUint(f.Uint() + 1)
		default:
			f.SetInt(f.Int() + 1)
		}
		assert.NotEqual(t, rowHash(&base), rowHash(&r), "a change of %s", v.Type().Field(i).Name)
	}
	// Fields that run together alike still differ.
	a, b := base, base
	a.URLFrom, a.URLTo = "ab", "c"
	b.URLFrom, b.URLTo = "a", "bc"
	assert.NotEqual(t, rowHash(&a), rowHash(&b))
}
