package serpstat

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// This file is what happens when an answer cannot be read: it is
// well-formed JSON whose shape surprises this version, an
// *UnexpectedError (answer.go, Method.DecodeAnswer, reads every paged
// answer).

// UnmarshalJSON implements json.Unmarshaler: a missing or null total is
// TotalUnknown, and so is a null summary_info.
func (s *SummaryInfo) UnmarshalJSON(raw []byte) error {
	if string(bytes.TrimSpace(raw)) == "null" {
		*s = SummaryInfo{Total: TotalUnknown}
		return nil
	}
	var w struct {
		LeftLines Int    `json:"left_lines"`
		Page      Int    `json:"page"`
		Count     Int    `json:"count"`
		Total     *Int   `json:"total"`
		Sort      string `json:"sort"`
		Order     string `json:"order"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return err
	}
	*s = SummaryInfo{LeftLines: w.LeftLines, Page: w.Page, Count: w.Count, Total: TotalUnknown, Sort: w.Sort, Order: w.Order}
	if w.Total != nil {
		s.Total = *w.Total
	}
	return nil
}

// UnexpectedError is a well-formed JSON answer whose shape this version
// cannot read: a field of an unexpected type ("links_ext":"abc"), data that
// is not an array, a result that is null. It was produced, so it was
// probably billed, and asking again would only buy the same answer: it is
// never retried (ClassUnexpected). Raw holds the answer, to be kept and
// read again by a later version without paying.
type UnexpectedError struct {
	Method string
	// Field is where the surprise is, e.g. "result.data[3].links_ext", and
	// Value the JSON found there (shortened); both may be "" when no one
	// field is to blame.
	Field, Value string
	// Rows is the length of result.data when it is an array, else 0.
	Rows int
	Raw  []byte
	Err  error
}

func (e *UnexpectedError) Error() string {
	msg := "serpstat: unexpected " + e.Method + " answer"
	if e.Field != "" {
		msg += ": field " + e.Field + " holds " + e.Value
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + " (well-formed JSON this version cannot read; it was billed, so it is not asked again)"
}

func (e *UnexpectedError) Unwrap() error { return e.Err }

// unexpected builds the *UnexpectedError of a well-formed answer that did
// not decode, naming the first field that does not fit.
func unexpected(method string, raw []byte, err error) *UnexpectedError {
	ue := &UnexpectedError{Method: method, Raw: raw, Err: err}
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return ue
	}
	ue.Field, ue.Value = diagnose(v)
	return ue
}

// shortJSON is v as JSON, cut to 80 bytes.
func shortJSON(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// diagnose finds the first part of a decoded answer of a method that is
// not paged (getStats) that does not have an answer's shape: the
// envelope, result and summary_info. (A paged method's answer is
// Method.DecodeAnswer's, which names the row field itself.)
func diagnose(v any) (field, value string) {
	top, ok := v.(map[string]any)
	if !ok {
		return "(answer)", shortJSON(v)
	}
	res, ok := lookup(top, "result")
	if !ok {
		return "result", "nothing (neither result nor error)"
	}
	rm, ok := res.(map[string]any)
	if !ok {
		return "result", shortJSON(res)
	}
	if si, ok := lookup(rm, "summary_info"); ok && si != nil {
		sm, ok := si.(map[string]any)
		if !ok {
			return "result.summary_info", shortJSON(si)
		}
		for _, k := range sortedKeys(sm) {
			switch strings.ToLower(k) {
			case "left_lines", "page", "count", "total":
				if !fitsInt(sm[k]) {
					return "result.summary_info." + k, shortJSON(sm[k])
				}
			case "sort", "order":
				if _, ok := sm[k].(string); !ok && sm[k] != nil {
					return "result.summary_info." + k, shortJSON(sm[k])
				}
			}
		}
	}
	return "", ""
}

func lookup(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fitsInt tells whether v (decoded with UseNumber) decodes into an Int.
func fitsInt(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case json.Number:
		var n Int
		return n.UnmarshalJSON([]byte(x)) == nil
	case string:
		var n Int
		return n.UnmarshalJSON([]byte(strconv.Quote(x))) == nil
	}
	return false
}
