package serpstat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Kind is the type of a column's values, from the method's schema.
type Kind uint8

// The kinds of column values. A date is YYYY-MM-DD and a timestamp
// YYYY-MM-DD hh:mm:ss with no zone, both kept as the text answered.
const (
	KindString Kind = iota + 1
	KindInt
	KindFloat
	KindDate
	KindTimestamp
	KindStrings // a list of strings (platform_type, threat_type)
)

var kindNames = [...]string{"", "string", "integer", "float", "date", "timestamp", "list<string>"}

// String is the kind's name as `methods` prints it: string, integer,
// float, date, timestamp or list<string>.
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText implements encoding.TextMarshaler with String.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: the inverse of
// MarshalText.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if i > 0 && n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown kind %q", b)
}

// Column is one output column of a method: its snake_case name, the kind
// of its values and the wire keys an answer may hold it under.
type Column struct {
	// Name is the output name in every format (snake_case).
	Name string `json:"name"`
	Kind Kind   `json:"type"`
	// Keys are the wire keys that fill the column: the schema's first,
	// then aliases seen in the spec's examples. No two columns of a
	// method share a key.
	Keys []string `json:"keys"`
	// KeyPrefix, when set, also matches any key that starts with it
	// (getIntersect's "Links count for domain #1 gepur.com"); the rest of
	// the key is the domain the column counts for.
	KeyPrefix string `json:"key_prefix,omitempty"`
	Doc       string `json:"doc,omitempty"`
}

// FilterField is a complexFilter field a method documents.
type FilterField struct {
	// Name is the field as the method's schema spells it, the name sent.
	Name string `json:"name"`
	// Aliases are other spellings of the field in the spec's examples
	// (getAnchors' noFollow for nofollow), accepted on input and sent as
	// Name (NormalizeFilter).
	Aliases []string `json:"aliases,omitempty"`
	// Kind is KindDate for a date, KindInt for a number, KindString for
	// text, KindStrings for an enumerated list field (Codes).
	Kind Kind `json:"type"`
	// DateFormat is how a KindDate field's values are sent: DD.MM.YYYY
	// (the zero value) or YYYY-MM-DD. Input may be any of DateInputs.
	DateFormat DateFormat `json:"date_format,omitempty"`
	// Values are the documented eq/neq values of an enumeration; nil when
	// any value goes.
	Values []string `json:"values,omitempty"`
	// Codes are the documented codes of a KindStrings field, the only
	// values it takes, with ListCompares; its column holds their names.
	Codes []Code `json:"codes,omitempty"`
	// Column is the output column the field tests, "" when none does.
	Column string `json:"column,omitempty"`
}

// Cursor is what an incremental load follows: rows whose Column is on or
// after a date are asked with Filter gte that date, written in the
// filter field's DateFormat.
type Cursor struct {
	Filter string `json:"filter"`
	Column string `json:"column"`
}

// Method describes one API method, paged or not (NotPaged): everything
// the decoder, pager, exporter, sinks, lake and the fake need to know
// about it, its price (Billing) included. A Method is read-only once
// built; it is safe for concurrent use.
type Method struct {
	// Name is the CLI's name, kebab-case without "get": "new-backlinks".
	Name string `json:"name"`
	// API is the method's full name: "SerpstatBacklinksProcedure.getNewBacklinks".
	API string `json:"api"`
	Doc string `json:"doc,omitempty"`
	// Columns are the output columns in the spec's order.
	Columns []Column `json:"columns"`
	// Extra, when true, adds a trailing "extra" column holding the keys
	// of a row no column knows (a JSON object, null when none).
	Extra bool `json:"extra_column"`
	// SearchTypes are the documented values of searchType; nil when the
	// method takes no searchType.
	SearchTypes []string `json:"search_types,omitempty"`
	// Sorts are the documented sort fields; DefaultSort is the API's
	// default ("" when the spec gives none).
	Sorts       []string `json:"sort_fields"`
	DefaultSort string   `json:"default_sort,omitempty"`
	// Filters are the documented complexFilter fields, and
	// AdditionalFilters the values of {"additional_filters": X}.
	Filters           []FilterField `json:"filter_fields"`
	AdditionalFilters []string      `json:"additional_filters,omitempty"`
	// LinkPerDomain is true when the method documents linkPerDomain.
	LinkPerDomain bool `json:"link_per_domain,omitempty"`
	// Params are the params the method documents beyond the common ones
	// (getAnchors' anchor and count), in the spec's order: the names
	// Params.Extra may hold. Nil when it documents none.
	Params []Param `json:"params,omitempty"`
	// Intersect is how many domains the method's required intersect
	// param takes at most (getIntersect: 2); 0 when it takes none.
	Intersect int `json:"intersect,omitempty"`
	// Slices are the filter fields, in order of preference, by which a
	// query over the wall is cut into slices (dates and numbers as
	// gte/lte ranges, enumerations one value each plus a remainder).
	// Empty: the method stops at the wall and reports the rest.
	Slices []string `json:"slice_fields,omitempty"`
	// Cursor is the incremental cursor; nil when --incremental is refused.
	Cursor *Cursor `json:"incremental,omitempty"`
	// AppendSort is the sort (ascending) under which new rows append at
	// the end, used when the user gives none; "" to send no sort.
	AppendSort string `json:"append_sort,omitempty"`
	// NotPaged, when set, is a method that answers a query in one
	// request, without pages (getSummaryV2, getDistributionTLD, ...);
	// nil for a paged method. See Paged.
	NotPaged *NotPaged `json:"not_paged,omitempty"`
	// Billing is how a request is billed; the zero value is a credit a
	// row, 1 for an answer without rows (every paged method).
	Billing Billing `json:"billing"`

	keysOnce sync.Once
	keys     map[string]int // wire key (and its lower case) → column
}

// ExtraColumn is the name of the trailing column of unknown keys.
const ExtraColumn = "extra"

// OutputColumns are the names of every output column: Columns, then
// "extra" when the method has it.
func (m *Method) OutputColumns() []string {
	names := make([]string, 0, len(m.Columns)+1)
	for _, c := range m.Columns {
		names = append(names, c.Name)
	}
	if m.Extra {
		names = append(names, ExtraColumn)
	}
	return names
}

// ColumnIndex is the index of the column named name, or -1.
func (m *Method) ColumnIndex(name string) int {
	return slices.IndexFunc(m.Columns, func(c Column) bool { return c.Name == name })
}

// Filter returns the filter field named name, or spelled so by one of
// its Aliases, or nil.
func (m *Method) Filter(name string) *FilterField {
	for i := range m.Filters {
		if m.Filters[i].Spells(name) {
			return &m.Filters[i]
		}
	}
	return nil
}

// Value is one cell of a row. Which field holds it depends on the
// column's Kind: Str for string, date and timestamp, Int, Float, List.
// Null marks a JSON null; the other fields are then zero.
type Value struct {
	Str   string
	Int   int64
	Float float64
	List  []string
	Null  bool
}

// Row is one row of an answer: a Value per column of its Method, in
// order, and the keys no column knows.
type Row struct {
	Values []Value
	// Extra is a JSON object of the row's unknown keys, in the answer's
	// order; nil when it had none.
	Extra json.RawMessage
}

// Page is one decoded answer of a paged method.
type Page struct {
	Data    []Row
	Summary SummaryInfo
	// NoData is true when the API answered "no data" (codes 32015/32017,
	// 404 "Empty result!") instead of an empty array; such an answer is
	// still billed 1 credit.
	NoData bool
	// Repaired counts the invalid UTF-8 sequences in the answer, each
	// decoded as U+FFFD rather than corrupting an output file.
	Repaired int
	// UnknownKeys are the row keys of this answer no column knows, each
	// once, in order of first appearance.
	UnknownKeys []string
	// Intersect names the domain each KeyPrefix column counted for, by
	// column name ("links_count_1": "gepur.com"), when the answer said.
	Intersect map[string]string
}

// Params are the params of one call of a method. The zero value of
// a field means "not sent"; MarshalParams sends only what the method
// documents. Their JSON form names an export (its checkpoint, run record
// and manifest): a field that is not sent is left out of it.
type Params struct {
	Query      string   `json:"query"`
	SearchType string   `json:"searchType,omitempty"`
	Intersect  []string `json:"intersect,omitempty"`
	Sort       string   `json:"sort,omitempty"`
	Order      string   `json:"order,omitempty"`
	Page       int      `json:"page"`
	Size       int      `json:"size"`
	// LinkPerDomain is sent when set, 0 included (a documented value);
	// nil sends none.
	LinkPerDomain *int   `json:"linkPerDomain,omitempty"`
	ComplexFilter Filter `json:"complexFilter,omitempty"`
	// Extra are the method's own params (Method.Params) by wire name,
	// their values as text ("count": "2"), sent as each Param's Kind
	// says; nil sends none. Read-only once built: copies of Params share
	// it.
	Extra map[string]string `json:"extra,omitempty"`
}

// MarshalParams is p as the JSON params of m: only the params m
// documents, in a fixed order. It fails on a param m does not document
// (Validate names it first).
func (m *Method) MarshalParams(p Params) (json.RawMessage, error) {
	var b bytes.Buffer
	field := func(name string, v any) error {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(name))
		b.WriteByte(':')
		enc, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("param %s: %w", name, err)
		}
		b.Write(enc)
		return nil
	}
	if !m.Paged() {
		if err := m.validateNotPaged(p); err != nil {
			return nil, err
		}
	}
	b.WriteByte('{')
	if err := field("query", p.Query); err != nil {
		return nil, err
	}
	if p.SearchType != "" {
		if m.SearchTypes == nil {
			return nil, fmt.Errorf("%s takes no searchType", m.Name)
		}
		field("searchType", p.SearchType)
	}
	if len(p.Intersect) > 0 {
		if m.Intersect == 0 {
			return nil, fmt.Errorf("%s takes no intersect", m.Name)
		}
		field("intersect", p.Intersect)
	}
	if len(p.Extra) > 0 {
		if err := m.marshalExtra(p.Extra, field); err != nil {
			return nil, err
		}
	}
	if p.Sort != "" {
		field("sort", p.Sort)
	}
	if p.Order != "" {
		field("order", p.Order)
	}
	if p.Page != 0 {
		field("page", p.Page)
	}
	if p.Size != 0 {
		field("size", p.Size)
	}
	if p.LinkPerDomain != nil {
		if !m.LinkPerDomain {
			return nil, fmt.Errorf("%s takes no linkPerDomain", m.Name)
		}
		field("linkPerDomain", *p.LinkPerDomain)
	}
	if len(p.ComplexFilter) > 0 {
		// Dates in each field's format, fields under their schema names.
		if err := field("complexFilter", m.NormalizeFilter(p.ComplexFilter)); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ParamError is a param that would be refused, named for the user.
// (Declared in validate.go.)

// snake turns a wire key into a column name: domainRank → domain_rank,
// urlTo → url_to, "Domain Rank" → domain_rank, SDR → sdr.
func Snake(key string) string {
	var b strings.Builder
	prevLower := false
	for _, r := range key {
		switch {
		case r == ' ' || r == '-' || r == '_' || r == '#':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			prevLower = false
		case r >= 'A' && r <= 'Z':
			if prevLower {
				b.WriteByte('_')
			}
			b.WriteRune(r + 'a' - 'A')
			prevLower = false
		default:
			b.WriteRune(r)
			prevLower = (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}
