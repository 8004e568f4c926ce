package serpstat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/suggest"
)

// Validate checks p the way the API would for m, before anything is
// sent, and returns a *ParamError naming the first bad field and what is
// allowed. Page 0 and Size 0 mean the API's defaults.
func (m *Method) Validate(p Params) error {
	if !m.Paged() {
		if err := m.validateNotPaged(p); err != nil {
			return err
		}
	}
	if err := m.ValidateSearchType(p.SearchType); err != nil {
		return err
	}
	if err := ValidateQueryFor(p.SearchType, p.Query); err != nil {
		return err
	}
	switch {
	case m.Intersect == 0 && len(p.Intersect) > 0:
		return &ParamError{Field: "intersect", Value: strings.Join(p.Intersect, ","), Msg: "is taken only by intersect and intersect-summary: leave it unset for " + m.Name}
	case m.Intersect > 0 && (len(p.Intersect) == 0 || len(p.Intersect) > m.Intersect):
		return &ParamError{Field: "intersect", Value: strconv.Itoa(len(p.Intersect)) + " domains", Msg: fmt.Sprintf("must name 1 to %d domains to compare with the query, e.g. --intersect a.com,b.com", m.Intersect)}
	}
	for i, d := range p.Intersect {
		if err := ValidateQuery(d); err != nil {
			return &ParamError{Field: fmt.Sprintf("intersect[%d]", i), Value: strconv.Quote(d), Msg: "must be a bare domain name like example.com"}
		}
	}
	if p.Sort != "" && !slices.Contains(m.Sorts, p.Sort) {
		return &ParamError{Field: "sort", Value: strconv.Quote(p.Sort), Msg: "must be one of " + strings.Join(m.Sorts, ", ") + " for " + m.Name + suggest.Hint(p.Sort, m.Sorts)}
	}
	if p.Order != "" && !slices.Contains(Orders, p.Order) {
		return &ParamError{Field: "order", Value: strconv.Quote(p.Order), Msg: "must be asc or desc" + suggest.Hint(p.Order, Orders)}
	}
	if p.Size < 0 || p.Size > MaxPageSize {
		return &ParamError{Field: "size", Value: strconv.Itoa(p.Size), Msg: fmt.Sprintf("must be 1..%d", MaxPageSize)}
	}
	if p.Page < 0 {
		return &ParamError{Field: "page", Value: strconv.Itoa(p.Page), Msg: "must be 1 or more"}
	}
	if n := p.LinkPerDomain; n != nil && *n < 0 {
		return &ParamError{Field: "link-per-domain", Value: strconv.Itoa(*n), Msg: "must be 0 (one link per page) or more; leave it unset to send none"}
	}
	if n := p.LinkPerDomain; n != nil && !m.LinkPerDomain {
		return &ParamError{Field: "link-per-domain", Value: strconv.Itoa(*n), Msg: "is not taken by " + m.Name + ": leave it unset"}
	}
	if err := m.validateExtra(p.Extra); err != nil {
		return err
	}
	return m.ValidateFilter(p.ComplexFilter)
}

// ValidateSearchType checks that m takes search type st ("" for a
// method that takes none), so that queries are checked for a search type
// the method takes.
func (m *Method) ValidateSearchType(st string) error {
	if m.SearchTypes == nil {
		if st != "" {
			return &ParamError{Field: "search-type", Value: strconv.Quote(st), Msg: "is not taken by " + m.Name + ": leave it unset"}
		}
	} else if !slices.Contains(m.SearchTypes, st) {
		return &ParamError{Field: "search-type", Value: strconv.Quote(st), Msg: "must be one of " + strings.Join(m.SearchTypes, ", ") + " for " + m.Name + suggest.Hint(st, m.SearchTypes)}
	}
	return nil
}

var reDomain = regexp.MustCompile(`^[\p{L}\p{N}]([\p{L}\p{N}_-]*[\p{L}\p{N}])?(\.[\p{L}\p{N}]([\p{L}\p{N}_-]*[\p{L}\p{N}])?)+\.?$`)

// ValidateQueryFor checks q for searchType: a bare domain name for domain
// and domain_with_subdomains (ValidateQuery), an absolute http(s) URL for
// url (https://example.com/page), and a part of a URL, without spaces,
// for part_url.
func ValidateQueryFor(searchType, q string) error {
	switch searchType {
	case SearchURL:
		if q == "" {
			return &ParamError{Field: "query", Msg: "is required: with --search-type url, the page's URL, e.g. --query https://example.com/page"}
		}
		u, err := url.Parse(q)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(q, " \t\r\n") {
			return &ParamError{Field: "query", Value: strconv.Quote(q), Msg: "must be an absolute http or https URL with --search-type url, e.g. https://example.com/page"}
		}
		return nil
	case SearchPartURL:
		if q == "" || strings.ContainsAny(q, " \t\r\n") {
			return &ParamError{Field: "query", Value: strconv.Quote(q), Msg: "must be a part of a URL without spaces with --search-type part_url, e.g. example.com/blog/"}
		}
		return nil
	}
	return ValidateQuery(q)
}

// ValidateQuery checks that q is a bare domain name such as example.com.
func ValidateQuery(q string) error {
	if q == "" {
		return &ParamError{Field: "query", Msg: "is required: the domain to analyse, e.g. --query example.com"}
	}
	if reDomain.MatchString(q) {
		return nil
	}
	hint := ""
	if u := strings.TrimSpace(q); strings.Contains(u, "://") || strings.Contains(u, "/") {
		s := u
		if i := strings.Index(s, "://"); i >= 0 {
			s = s[i+3:]
		}
		if i := strings.IndexAny(s, "/?#"); i >= 0 {
			s = s[:i]
		}
		hint = fmt.Sprintf(" (try --query %s)", s)
	}
	return &ParamError{Field: "query", Value: strconv.Quote(q), Msg: "must be a bare domain name like example.com, without scheme or path" + hint}
}

// ParseFilter decodes a complexFilter from JSON, validates it for m and
// returns it as m sends it (NormalizeFilter): dates in each field's
// format, fields under their schema names.
func (m *Method) ParseFilter(data []byte) (Filter, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	var raw [][]map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &ParamError{Field: "filter", Msg: "must be a JSON array of arrays of conditions, e.g. [[{\"field\":\"url_from\",\"compareType\":\"contains\",\"value\":[\"blog\"]}]]: " + err.Error()}
	}
	f := make(Filter, len(raw))
	for i, group := range raw {
		f[i] = make([]Condition, len(group))
		for j, obj := range group {
			at := fmt.Sprintf("filter[%d][%d]", i, j)
			var c Condition
			for k, v := range obj {
				var err error
				switch k {
				case "field":
					err = json.Unmarshal(v, &c.Field)
				case "compareType":
					err = json.Unmarshal(v, &c.CompareType)
				case "value":
					err = json.Unmarshal(v, &c.Value)
				case "additional_filters":
					err = json.Unmarshal(v, &c.AdditionalFilters)
				default:
					return nil, &ParamError{Field: at, Value: strconv.Quote(k), Msg: "has an unknown key: a condition takes field, compareType and value, or additional_filters alone"}
				}
				if err != nil {
					return nil, &ParamError{Field: at + "." + k, Msg: "has the wrong type: " + err.Error()}
				}
			}
			f[i][j] = c
		}
	}
	if err := m.ValidateFilter(f); err != nil {
		return nil, err
	}
	return m.NormalizeFilter(f), nil
}

var (
	textCompares   = []string{"contains", "notContains", "startsWith", "endsWith"}
	numberCompares = []string{"gt", "lt", "gte", "lte"}
)

// ValidateFilter checks the filter's structure, and its field names,
// compareTypes and values against m's documented filter fields
// (api-notes.md, "complexFilter").
func (m *Method) ValidateFilter(f Filter) error {
	for i, group := range f {
		if len(group) == 0 {
			return &ParamError{Field: fmt.Sprintf("filter[%d]", i), Msg: "is an empty AND-group: remove it or add conditions"}
		}
		for j, c := range group {
			if err := m.validateCondition(c, fmt.Sprintf("filter[%d][%d]", i, j)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Method) validateCondition(c Condition, at string) error {
	if c.AdditionalFilters != "" {
		if c.Field != "" || c.CompareType != "" || c.Value != nil {
			return &ParamError{Field: at, Msg: "mixes additional_filters with field/compareType/value: put each in its own condition"}
		}
		if !slices.Contains(m.AdditionalFilters, c.AdditionalFilters) {
			if len(m.AdditionalFilters) == 0 {
				return &ParamError{Field: at + ".additional_filters", Value: strconv.Quote(c.AdditionalFilters), Msg: "is not taken by " + m.Name + ": it documents no additional filters"}
			}
			return &ParamError{Field: at + ".additional_filters", Value: strconv.Quote(c.AdditionalFilters), Msg: "must be one of " + strings.Join(m.AdditionalFilters, ", ") + " for " + m.Name + suggest.Hint(c.AdditionalFilters, m.AdditionalFilters)}
		}
		return nil
	}
	ff := m.Filter(c.Field)
	if ff == nil {
		names := make([]string, len(m.Filters))
		for i, f := range m.Filters {
			names[i] = f.Name
		}
		return &ParamError{Field: at + ".field", Value: strconv.Quote(c.Field), Msg: "must be one of " + strings.Join(names, ", ") + " for " + m.Name + suggest.Hint(c.Field, names)}
	}
	if !slices.Contains(CompareTypes, c.CompareType) {
		return &ParamError{Field: at + ".compareType", Value: strconv.Quote(c.CompareType), Msg: "must be one of " + strings.Join(CompareTypes, ", ") + suggest.Hint(c.CompareType, CompareTypes)}
	}
	if len(c.Value) == 0 {
		return &ParamError{Field: at + ".value", Msg: "must be a non-empty array, e.g. \"value\":[\"blog\"]"}
	}
	if c.CompareType == "between" && len(c.Value) != 2 {
		return &ParamError{Field: at + ".value", Value: strconv.Itoa(len(c.Value)) + " values", Msg: "must hold exactly two values for between"}
	}
	if ff.Codes != nil {
		return validateCodes(ff, c, at)
	}
	isDate := ff.Kind == KindDate
	isNumber := ff.Kind == KindInt || ff.Kind == KindFloat
	if isDate && c.CompareType == "between" {
		from := ff.FormatDate(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
		to := ff.FormatDate(time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC))
		return &ParamError{Field: at + ".compareType", Value: "between", Msg: "is documented for two numbers only, not dates: use two conditions, gte and lte, e.g. {\"field\":\"" + c.Field + "\",\"compareType\":\"gte\",\"value\":[\"" + from + "\"]} and {...\"lte\",\"value\":[\"" + to + "\"]}"}
	}
	if enum := ff.Values; enum != nil && (c.CompareType == "eq" || c.CompareType == "neq") {
		for k, v := range c.Value {
			if s, ok := v.(string); !ok || !slices.Contains(enum, s) {
				return &ParamError{Field: fmt.Sprintf("%s.value[%d]", at, k), Value: fmt.Sprint(v), Msg: "is not a documented filter value of " + c.Field + suggest.Hint(fmt.Sprint(v), enum) + ": use one of " + strings.Join(enum, ", ")}
			}
		}
	}
	if isDate && slices.Contains(textCompares, c.CompareType) {
		return &ParamError{Field: at + ".compareType", Value: c.CompareType, Msg: "is not allowed for date field " + c.Field + ": use gt, lt, gte, lte, eq, neq or between"}
	}
	if !isDate && !isNumber && (slices.Contains(numberCompares, c.CompareType) || c.CompareType == "between") {
		return &ParamError{Field: at + ".compareType", Value: c.CompareType, Msg: "compares numbers and dates; field " + c.Field + " is text: use eq, neq, contains, notContains, startsWith or endsWith"}
	}
	if isNumber && slices.Contains(textCompares, c.CompareType) {
		return &ParamError{Field: at + ".compareType", Value: c.CompareType, Msg: "compares text; field " + c.Field + " is a number: use gt, lt, gte, lte, eq, neq or between"}
	}
	for k, v := range c.Value {
		vat := fmt.Sprintf("%s.value[%d]", at, k)
		switch x := v.(type) {
		case string:
			if isDate {
				if _, err := ParseDate(x); err != nil {
					return &ParamError{Field: vat, Value: strconv.Quote(x), Msg: m.dateMsg(ff, err)}
				}
			}
			if isNumber {
				if _, err := strconv.ParseFloat(x, 64); err != nil {
					return &ParamError{Field: vat, Value: strconv.Quote(x), Msg: "must be a number"}
				}
			}
		case float64, int, int64, json.Number:
			if isDate {
				return &ParamError{Field: vat, Value: fmt.Sprint(x), Msg: m.dateMsg(ff, nil)}
			}
			if slices.Contains(textCompares, c.CompareType) {
				return &ParamError{Field: vat, Value: fmt.Sprint(x), Msg: "must be a string for " + c.CompareType}
			}
		default:
			return &ParamError{Field: vat, Value: fmt.Sprintf("%v", v), Msg: "must be a string or a number"}
		}
	}
	return nil
}

// dateMsg says what a value of date field ff must be: err is the
// parser's, nil for a value that is not a string.
func (m *Method) dateMsg(ff *FilterField, err error) string {
	what := "must be a date of " + ff.Name + " written " + DateInputs
	if err != nil && strings.Contains(err.Error(), "does not exist") {
		what = "is not a day of the calendar: " + ff.Name + " takes a date written " + DateInputs
	}
	return what + " (" + m.Name + " sends it as " + ff.DateFormat.String() + "), e.g. \"" + ff.DateFormat.Example() + "\""
}

// validateCodes checks a condition on an enumerated list field: a
// compare type of ListCompares and values that are documented codes.
func validateCodes(ff *FilterField, c Condition, at string) error {
	if !slices.Contains(ListCompares, c.CompareType) {
		return &ParamError{Field: at + ".compareType", Value: c.CompareType, Msg: "is not allowed for " + ff.Name + ", a list of codes: use " + strings.Join(ListCompares, ", ")}
	}
	for k, v := range c.Value {
		if ff.CodeOf(v) == nil {
			got := fmt.Sprint(v)
			if s, ok := v.(string); ok {
				got = strconv.Quote(s)
			}
			return &ParamError{Field: fmt.Sprintf("%s.value[%d]", at, k), Value: got, Msg: "is not a code of " + ff.Name + ": use one of " + ff.CodeList() + " (as a string or a number)"}
		}
	}
	return nil
}
