package exporter

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// TestRowHashCoversEveryField: rows that differ in any one value, of any
// kind, the null marks and the unknown keys included, hash apart (and are
// not the same row); a part the hash left out would make the duplicate
// check drop a row that is not a duplicate.
func TestRowHashCoversEveryField(t *testing.T) {
	base := func() serpstat.Row {
		return serpstat.Row{Values: []serpstat.Value{
			{Str: "a"}, {Str: "b"}, {Int: 3}, {Float: 1.5}, {List: []string{"windows", "linux"}}, {Null: true},
		}, Extra: json.RawMessage(`{"x":1}`)}
	}
	b0 := base()
	b1 := base()
	assert.Equal(t, rowHash(&b0), rowHash(&b1), "equal rows hash alike")
	assert.True(t, sameRow(&b0, &b1))
	changes := map[string]func(r *serpstat.Row){
		"string":       func(r *serpstat.Row) { r.Values[0].Str += "x" },
		"int":          func(r *serpstat.Row) { r.Values[2].Int++ },
		"float":        func(r *serpstat.Row) { r.Values[3].Float += 0.25 },
		"list item":    func(r *serpstat.Row) { r.Values[4].List[1] = "mac" },
		"list length":  func(r *serpstat.Row) { r.Values[4].List = r.Values[4].List[:1] },
		"null mark":    func(r *serpstat.Row) { r.Values[5].Null = false },
		"a new null":   func(r *serpstat.Row) { r.Values[0] = serpstat.Value{Null: true} },
		"extra":        func(r *serpstat.Row) { r.Extra = json.RawMessage(`{"x":2}`) },
		"extra absent": func(r *serpstat.Row) { r.Extra = nil },
	}
	for name, change := range changes {
		r := base()
		change(&r)
		assert.NotEqual(t, rowHash(&b0), rowHash(&r), "a change of %s", name)
		assert.False(t, sameRow(&b0, &r), "a change of %s", name)
	}
	// Values that run together alike still differ.
	a, b := base(), base()
	a.Values[0].Str, a.Values[1].Str = "ab", "c"
	b.Values[0].Str, b.Values[1].Str = "a", "bc"
	assert.NotEqual(t, rowHash(&a), rowHash(&b))
	l1, l2 := base(), base()
	l1.Values[4].List = []string{"ab", "c"}
	l2.Values[4].List = []string{"a", "bc"}
	assert.NotEqual(t, rowHash(&l1), rowHash(&l2))
}
