package serpstat

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/serpstat-export/serpstat-export/suggest"
)

// Param is a request param a method documents beyond the common ones
// (query, searchType, intersect, sort, order, page, size, linkPerDomain,
// complexFilter): getAnchors' anchor and count, getDistributionTLD's
// lang. A user sets it with --param NAME=VALUE; its value is kept as text
// in Params.Extra, checked by Check and sent as Kind says.
type Param struct {
	// Name is the wire name, as the spec spells it: "count".
	Name string `json:"name"`
	// Kind is the JSON type the value is sent as: KindString (a JSON
	// string) or KindInt (a JSON number).
	Kind Kind `json:"type"`
	// Values are the documented values of an enumerated param
	// (getDistributionTLD's lang: en, ru, uk, de, se); nil when any value
	// of Kind goes.
	Values []string `json:"values,omitempty"`
	// Positive, when true, takes only a whole number of 1 or more,
	// whatever Kind sends it as: getAnchors' count is typed a string by
	// the spec ("1" in its example) and counts words.
	Positive bool   `json:"positive,omitempty"`
	Doc      string `json:"doc,omitempty"`
}

// commonParams are the params every method's descriptor types in its own
// fields, each set by its own flag: --param does not take them.
var commonParams = map[string]string{
	"query": "--query", "searchType": "--search-type", "intersect": "--intersect",
	"sort": "--sort", "order": "--order", "page": "", "size": "--size",
	"linkPerDomain": "--link-per-domain", "complexFilter": "--filter",
}

// Param returns m's documented extra param named name, or nil.
func (m *Method) Param(name string) *Param {
	for i := range m.Params {
		if m.Params[i].Name == name {
			return &m.Params[i]
		}
	}
	return nil
}

// Check returns "" when v is a value p takes, else what p takes, for a
// message: "must be one of en, ru, uk, de, se".
func (p *Param) Check(v string) string {
	switch {
	case p.Values != nil:
		if !slices.Contains(p.Values, v) {
			return "must be one of " + strings.Join(p.Values, ", ")
		}
	case p.Positive:
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 1 || strings.HasPrefix(v, "+") {
			return "must be a whole number of 1 or more, e.g. --param " + p.Name + "=2"
		}
	case p.Kind == KindInt:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil || strings.HasPrefix(v, "+") {
			return "must be a whole number, e.g. --param " + p.Name + "=2"
		}
	case v == "":
		return "must not be empty: leave the param out to send none"
	}
	return ""
}

// wire is v as p sends it: a JSON number for KindInt, else a JSON string.
func (p *Param) wire(v string) any {
	if p.Kind == KindInt {
		return json.Number(v)
	}
	return v
}

// describeParams lists m's extra params for a message: "anchor (Anchor
// text), count (Number of words in anchor)".
func (m *Method) describeParams() string {
	names := make([]string, len(m.Params))
	for i, p := range m.Params {
		names[i] = p.Name
		switch {
		case p.Values != nil:
			names[i] += " (" + strings.Join(p.Values, "|") + ")"
		case p.Doc != "":
			names[i] += " (" + p.Doc + ")"
		}
	}
	return strings.Join(names, ", ")
}

// validateExtra checks extra (Params.Extra) against m's documented extra
// params, by name in order, and returns a *ParamError naming the first
// param that is not m's, or whose value m does not take, and what is
// allowed.
func (m *Method) validateExtra(extra map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		v := extra[name]
		field := "param " + name
		p := m.Param(name)
		if p != nil {
			if msg := p.Check(v); msg != "" {
				return &ParamError{Field: field, Value: strconv.Quote(v), Msg: msg + " for " + m.Name}
			}
			continue
		}
		if flag, ok := commonParams[name]; ok {
			msg := "is not an extra param: it is set by the tool"
			if flag != "" {
				msg = "is not an extra param: set it with " + flag
			}
			return &ParamError{Field: field, Msg: msg}
		}
		names := make([]string, len(m.Params))
		for i, q := range m.Params {
			names[i] = q.Name
		}
		hint := suggest.Hint(name, names)
		if len(m.Params) == 0 {
			return &ParamError{Field: field, Msg: "is not taken by " + m.Name + ", which takes no extra params: remove --param " + name}
		}
		return &ParamError{Field: field, Msg: "is not taken by " + m.Name + hint + ": it takes " + m.describeParams()}
	}
	return nil
}

// marshalExtra writes extra's params with field, in the order m documents
// them, each as its Kind says. It fails on a param m does not document
// or a value it does not take (Validate names them first).
func (m *Method) marshalExtra(extra map[string]string, field func(name string, v any) error) error {
	for name, v := range extra {
		p := m.Param(name)
		if p == nil {
			return fmt.Errorf("%s takes no param %s", m.Name, name)
		}
		if msg := p.Check(v); msg != "" {
			return fmt.Errorf("param %s %s; got %q", name, msg, v)
		}
	}
	for i := range m.Params {
		p := &m.Params[i]
		if v, ok := extra[p.Name]; ok {
			if err := field(p.Name, p.wire(v)); err != nil {
				return err
			}
		}
	}
	return nil
}
