package sink

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// dictColumns are the string columns with a handful of distinct values,
// written with dictionary encoding (smaller files, cheaper reads). Other
// strings (URLs, anchors, domains) rarely repeat within a page and are
// written plain.
var dictColumns = map[string]bool{"nofollow": true, "link_type": true}

// parquetRoot is the name of the schema's root. It is the name files had
// when a Go struct described the schema (readers ignore it); kept so that
// new-backlinks files stay byte for byte what earlier releases wrote.
const (
	parquetRoot      = "parquetRow"
	parquetRootQuery = "parquetRowQ"
)

// parquetSchema is the Parquet schema of the rows of m: an optional leaf
// (or LIST) a column of m.OutputColumns, in that order, after a required,
// dictionary-encoded "query" column when query is true.
func parquetSchema(m *serpstat.Method, query bool) *parquet.Schema {
	var root orderedGroup
	name := parquetRoot
	if query {
		name = parquetRootQuery
		root = root.add("query", parquet.Encoded(parquet.String(), &parquet.RLEDictionary))
	}
	for _, c := range m.Columns {
		root = root.add(c.Name, parquet.Optional(parquetNode(c)))
	}
	if m.Extra {
		root = root.add(serpstat.ExtraColumn, parquet.Optional(parquet.String()))
	}
	return parquet.NewSchema(name, root)
}

// parquetNode is the node of a column's values, by its Kind.
func parquetNode(c serpstat.Column) parquet.Node {
	switch c.Kind {
	case serpstat.KindInt:
		return parquet.Int(64)
	case serpstat.KindFloat:
		return parquet.Leaf(parquet.DoubleType)
	case serpstat.KindDate:
		return parquet.Date()
	case serpstat.KindTimestamp:
		return parquet.TimestampAdjusted(parquet.Microsecond, false)
	case serpstat.KindStrings:
		return parquet.List(parquet.String())
	}
	if dictColumns[c.Name] {
		return parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
	}
	return parquet.String()
}

// orderedGroup is a group node whose fields keep the order they were added
// in: parquet.Group is a map, and orders its fields by name.
type orderedGroup []parquet.Field

// add returns g with a field name of node n at the end.
func (g orderedGroup) add(name string, n parquet.Node) orderedGroup {
	return append(g, orderedField{Node: n, name: name, index: len(g)})
}

func (g orderedGroup) ID() int { return 0 }

func (g orderedGroup) String() string {
	var b strings.Builder
	_ = parquet.PrintSchema(&b, "", g)
	return b.String()
}

// Type is the type of a group, which parquet-go does not export.
func (orderedGroup) Type() parquet.Type { return parquet.Group{}.Type() }

func (orderedGroup) Optional() bool { return false }

func (orderedGroup) Repeated() bool { return false }

func (orderedGroup) Required() bool { return true }

func (orderedGroup) Leaf() bool { return false }

func (g orderedGroup) Fields() []parquet.Field { return g }

func (orderedGroup) Encoding() encoding.Encoding { return nil }

func (orderedGroup) Compression() compress.Codec { return nil }

// GoType is a struct of the fields' Go types, in order.
func (g orderedGroup) GoType() reflect.Type {
	fields := make([]reflect.StructField, len(g))
	for i, f := range g {
		fields[i] = reflect.StructField{
			Name: "F" + strconv.Itoa(i),
			Type: f.GoType(),
			Tag:  reflect.StructTag(`parquet:"` + f.Name() + `"`),
		}
	}
	return reflect.StructOf(fields)
}

// orderedField is a field of an orderedGroup.
type orderedField struct {
	parquet.Node
	name  string
	index int
}

func (f orderedField) Name() string { return f.name }

// Value is the field of a struct of the group's GoType.
func (f orderedField) Value(base reflect.Value) reflect.Value {
	for base.Kind() == reflect.Pointer {
		if base.IsNil() {
			return reflect.Value{}
		}
		base = base.Elem()
	}
	return base.Field(f.index)
}
