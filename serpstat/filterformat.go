package serpstat

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A filter value's format on the wire comes from its field's descriptor
// (FilterField): a date field's DateFormat, an enumerated list field's
// Codes, a field's schema Name over the Aliases its examples use. On
// input a user may write any date format of DateInputs and any alias;
// NormalizeFilter turns a filter into what the method documents, once,
// before it is sent or hashed into an export's identity.

// DateFormat is how a date filter field's values are written on the wire.
// The zero value is DateDMY, the format most methods document.
type DateFormat uint8

// The date formats the spec documents for filter values.
const (
	// DateDMY is DD.MM.YYYY with a two-digit day and month (01.04.2025):
	// getNewBacklinks' add and check, lastupdate of getTopPages and
	// getAnchors, every link method's check.
	DateDMY DateFormat = iota
	// DateISO is YYYY-MM-DD (2025-04-01): lastupdate of the four threat
	// methods.
	DateISO
)

// DateInputs are the date formats a user may write in any method's
// filter; each is converted to the field's DateFormat before sending.
const DateInputs = "YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"

var dateFormatNames = [...]string{DateDMY: "DD.MM.YYYY", DateISO: "YYYY-MM-DD"}

// String is the format's pattern: "DD.MM.YYYY" or "YYYY-MM-DD".
func (f DateFormat) String() string {
	if int(f) < len(dateFormatNames) {
		return dateFormatNames[f]
	}
	return "dateformat(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText implements encoding.TextMarshaler with String.
func (f DateFormat) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: the inverse of
// MarshalText.
func (f *DateFormat) UnmarshalText(b []byte) error {
	for i, n := range dateFormatNames {
		if n == string(b) {
			*f = DateFormat(i)
			return nil
		}
	}
	return fmt.Errorf("unknown date format %q", b)
}

// Format writes t's date (its year, month and day as they are, whatever
// its zone) in f: 01.04.2025 or 2025-04-01.
func (f DateFormat) Format(t time.Time) string {
	y, m, d := t.Date()
	if f == DateISO {
		return fmt.Sprintf("%04d-%02d-%02d", y, int(m), d)
	}
	return fmt.Sprintf("%02d.%02d.%04d", d, int(m), y)
}

// Example is 1 April 2025 in f, for messages.
func (f DateFormat) Example() string {
	return f.Format(time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC))
}

// ParseDate reads a date written YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY (any
// of DateInputs), as midnight UTC. It refuses any other spelling and a
// date that does not exist (31.2.2025, 2025-13-01). The error says the
// formats; callers add the field.
func ParseDate(s string) (time.Time, error) {
	y, m, d, ok := splitDate(s)
	if !ok {
		return time.Time{}, fmt.Errorf("date %q must be written %s, e.g. 2025-04-01 or 01.04.2025", s, DateInputs)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if y < 1 || t.Day() != d || int(t.Month()) != m {
		return time.Time{}, fmt.Errorf("date %q does not exist", s)
	}
	return t, nil
}

// splitDate reads the year, month and day of YYYY-MM-DD or D.M.YYYY (one
// or two digits each for day and month), without checking their range.
func splitDate(s string) (y, m, d int, ok bool) {
	digits := func(s string, min, max int) (int, bool) {
		if len(s) < min || len(s) > max {
			return 0, false
		}
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, ok1 := digits(s[:4], 4, 4)
		m, ok2 := digits(s[5:7], 2, 2)
		d, ok3 := digits(s[8:], 2, 2)
		return y, m, d, ok1 && ok2 && ok3
	}
	i := strings.IndexByte(s, '.')
	j := strings.LastIndexByte(s, '.')
	if i < 0 || j <= i {
		return 0, 0, 0, false
	}
	d, ok1 := digits(s[:i], 1, 2)
	m, ok2 := digits(s[i+1:j], 1, 2)
	y, ok3 := digits(s[j+1:], 4, 4)
	return y, m, d, ok1 && ok2 && ok3
}

// ParseFilterDate is ParseDate: a complexFilter date in any of
// DateInputs.
func ParseFilterDate(s string) (time.Time, error) { return ParseDate(s) }

// FormatFilterDate writes t as DD.MM.YYYY, the format most methods'
// date filters take; a field's own is FilterField.FormatDate.
func FormatFilterDate(t time.Time) string { return DateDMY.Format(t) }

// FormatDate writes t as the field's DateFormat.
func (ff *FilterField) FormatDate(t time.Time) string { return ff.DateFormat.Format(t) }

// Code is one documented value of an enumerated list field: a field whose
// filter values are codes while answers hold lists of names
// (platform_type: code 1, name "windows").
type Code struct {
	// Code is the filter value, as text: "1". A filter may send it as a
	// string or a number.
	Code string `json:"code"`
	// Name is what answers hold for it ("windows"); "" when it is not
	// known, and a row cannot be checked against the code.
	Name string `json:"name,omitempty"`
	// Meaning is what the spec says the code means ("OS X").
	Meaning string `json:"meaning"`
}

// ListCompares are the compare types of an enumerated list field (Kind
// KindStrings with Codes), on a row's list of names: contains holds when
// the list holds the name of any of the values, notContains when it holds
// none of them; eq holds when the list, as a set, is exactly the names of
// the values, neq when it is not.
var ListCompares = []string{"contains", "notContains", "eq", "neq"}

// CodeOf returns the documented code a filter value of the field names
// (a string "1" or a number 1), or nil.
func (ff *FilterField) CodeOf(v any) *Code {
	s, ok := valueText(v)
	if !ok {
		return nil
	}
	for i := range ff.Codes {
		if ff.Codes[i].Code == s {
			return &ff.Codes[i]
		}
	}
	return nil
}

// valueText is an integral filter value as text: "1" for "1", 1 and 1.0.
func valueText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), true
	case float64:
		if x != float64(int64(x)) {
			return "", false
		}
		return strconv.FormatInt(int64(x), 10), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

// CodeList says the field's codes and their meanings, for messages and
// `methods`: "1 windows, 2 linux, ...".
func (ff *FilterField) CodeList() string {
	parts := make([]string, len(ff.Codes))
	for i, c := range ff.Codes {
		parts[i] = c.Code + " " + c.Meaning
	}
	return strings.Join(parts, ", ")
}

// Spells reports whether name is the field's name or one of its aliases.
func (ff *FilterField) Spells(name string) bool {
	return ff.Name == name || slices.Contains(ff.Aliases, name)
}

// NormalizeFilter returns f as m sends it: every field under its schema
// name (an alias such as getAnchors' noFollow becomes nofollow) and every
// date written in its field's DateFormat (01.04.2025 for getNewBacklinks'
// add, 2025-04-01 for getThreats' lastupdate). Other values are kept as
// written (an enumerated field's "1" or 1 alike); a value it cannot read
// is kept too, for Validate to name. f is not modified; nil stays nil.
func (m *Method) NormalizeFilter(f Filter) Filter {
	if f == nil {
		return nil
	}
	out := make(Filter, len(f))
	for i, group := range f {
		out[i] = make([]Condition, len(group))
		for j, c := range group {
			if ff := m.Filter(c.Field); ff != nil && c.AdditionalFilters == "" {
				c.Field = ff.Name
				if ff.Kind == KindDate && c.Value != nil {
					vals := make([]any, len(c.Value))
					for k, v := range c.Value {
						vals[k] = v
						if s, ok := v.(string); ok {
							if t, err := ParseDate(s); err == nil {
								vals[k] = ff.FormatDate(t)
							}
						}
					}
					c.Value = vals
				}
			}
			out[i][j] = c
		}
	}
	return out
}
